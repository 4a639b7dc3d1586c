from services.orders.store import Base
from services.platform.migrations_env import run_migrations

run_migrations(Base.metadata)
