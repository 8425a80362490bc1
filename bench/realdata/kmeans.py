"""The bar for bench/realdata: scikit-learn KMeans on TF-IDF of the members' terms.

Reads JSON {"docs": [{term: weight}], "ks": [k...], "seed": s, "n_init": n,
"others_k": k, "teams": [team of each doc]} on stdin and writes {"<k>": [cluster of
each doc]} to stdout. TF-IDF is scikit-learn's default (raw weights, smooth idf, rows
L2-normalized), as bench/realdata computes it.

When others_k is above 0 it also writes other unsupervised ways of grouping the same
TF-IDF vectors into others_k groups, to show how much any method gets out of these
terms: "lsa" (KMeans on an 80-dimensional truncated SVD, re-normalized), "spectral"
(spectral clustering of the 10-nearest-neighbour graph) and "ward" (Ward's
agglomerative clustering); and, with teams, "supervised": the team a logistic
regression trained on the other four fifths predicts for each doc (5-fold), a ceiling
no unsupervised method should reach.
"""
import json
import sys
import warnings

from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from sklearn.preprocessing import normalize


def main():
    warnings.simplefilter("ignore")
    req = json.load(sys.stdin)
    counts = DictVectorizer(sort=True).fit_transform(req["docs"])
    x = TfidfTransformer().fit_transform(counts)
    seed, out = req["seed"], {}
    for k in req["ks"]:
        km = KMeans(n_clusters=k, random_state=seed, n_init=req["n_init"])
        out[str(k)] = km.fit_predict(x).tolist()
    k = req.get("others_k", 0)
    if k > 0:
        dim = min(80, x.shape[1] - 1)
        z = normalize(TruncatedSVD(dim, random_state=seed).fit_transform(x))
        out["lsa"] = KMeans(n_clusters=k, random_state=seed, n_init=req["n_init"]).fit_predict(z).tolist()
        out["spectral"] = SpectralClustering(k, affinity="nearest_neighbors", n_neighbors=10, random_state=seed,
                                             assign_labels="cluster_qr").fit_predict(x).tolist()
        out["ward"] = AgglomerativeClustering(k, linkage="ward").fit_predict(x.toarray()).tolist()
        if req.get("teams"):
            clf = LogisticRegression(C=10, max_iter=2000)
            out["supervised"] = cross_val_predict(clf, x, req["teams"], cv=5).tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
