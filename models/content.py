"""Content-based model: TF-IDF over title, description and category (scikit-learn).

Why: collaborative models know nothing about an item nobody has interacted with yet; text does.
It serves "similar items" for new items (:meth:`ContentTfidf.similar_to_text`) and cold-start
users via their few interactions. Needs ``SideInfo.item_texts`` (one text per item column).
"""

from __future__ import annotations

from typing import Self

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import TfidfVectorizer

from models.base import Recommender, SideInfo, top_n


def item_text(title: str | None, description: str | None, category: str | None) -> str:
    """The document of one item (title repeated: it is the strongest signal)."""
    parts = [title or "", title or "", description or "", category or ""]
    return " ".join(p for p in parts if p)


class ContentTfidf(Recommender):
    """Cosine similarity of TF-IDF item vectors; a user profile is the sum of their items."""

    name = "content"

    def __init__(
        self,
        *,
        max_features: int = 50_000,
        ngram_max: int = 2,
        min_df: int = 1,
        random_state: int = 42,
    ) -> None:
        super().__init__(random_state=random_state)
        self.max_features = max_features
        self.ngram_max = ngram_max
        self.min_df = min_df

    def _vectorizer(self, vocabulary: dict[str, int] | None = None) -> TfidfVectorizer:
        return TfidfVectorizer(
            max_features=self.max_features,
            ngram_range=(1, self.ngram_max),
            min_df=self.min_df,
            sublinear_tf=True,
            vocabulary=vocabulary,
        )

    def fit(
        self,
        user_items: csr_matrix,
        *,
        show_progress: bool = False,
        side: SideInfo | None = None,
    ) -> Self:
        if side is None or side.item_texts is None:
            raise ValueError("content model needs SideInfo(item_texts=...)")
        if len(side.item_texts) != user_items.shape[1]:
            raise ValueError(f"need one text per item: got {len(side.item_texts)} for {user_items.shape[1]}")
        self.vectorizer = self._vectorizer()
        self.item_vectors = csr_matrix(self.vectorizer.fit_transform(side.item_texts))
        self._mark_fitted(user_items)
        return self

    def _score_users(self, userids: NDArray[np.int64], user_items: csr_matrix) -> NDArray:
        x = csr_matrix(user_items, dtype=np.float64, copy=True)
        x.data[:] = 1.0
        return ((x @ self.item_vectors) @ self.item_vectors.T).toarray()

    def _item_similarity_rows(self, itemids: NDArray[np.int64]) -> NDArray:
        return (self.item_vectors[itemids] @ self.item_vectors.T).toarray()

    def similar_to_text(self, text: str, N: int = 10) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Catalogue items most similar to a new item's text (cold-start "similar items")."""
        self._check_fitted()
        sims = (self.vectorizer.transform([text]) @ self.item_vectors.T).toarray()
        ids, vals = top_n(sims, N)
        keep = vals[0] > 0
        return np.where(keep, ids[0], -1), np.where(keep, vals[0], 0.0).astype(np.float32)

    def state(self) -> dict[str, NDArray]:
        vocab = sorted(self.vectorizer.vocabulary_.items(), key=lambda kv: kv[1])
        v = self.item_vectors
        return {
            "vocabulary": np.array([term for term, _ in vocab], dtype=np.str_),
            "idf": self.vectorizer.idf_,
            "vec_data": v.data,
            "vec_indices": v.indices,
            "vec_indptr": v.indptr,
            "vec_shape": np.asarray(v.shape),
        }

    def _load_state(self, arrays: dict[str, NDArray]) -> None:
        vocabulary = {str(term): i for i, term in enumerate(arrays["vocabulary"].tolist())}
        self.vectorizer = self._vectorizer(vocabulary)
        self.vectorizer.idf_ = np.asarray(arrays["idf"])
        self.item_vectors = csr_matrix(
            (arrays["vec_data"], arrays["vec_indices"], arrays["vec_indptr"]),
            shape=tuple(int(x) for x in arrays["vec_shape"]),
        )
