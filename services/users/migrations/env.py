from services.platform.migrations_env import run_migrations
from services.users.store import Base

run_migrations(Base.metadata)
