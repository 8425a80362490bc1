"""The bar for bench/realdata: scikit-learn KMeans on TF-IDF of the members' terms.

Reads JSON {"docs": [{term: weight}], "ks": [k...], "seed": s, "n_init": n} on stdin
and writes {"<k>": [cluster of each doc]} to stdout. TF-IDF is scikit-learn's
default (raw weights, smooth idf, rows L2-normalized), as bench/realdata computes it.
"""
import json
import sys

from sklearn.cluster import KMeans
from sklearn.feature_extraction import DictVectorizer
from sklearn.feature_extraction.text import TfidfTransformer


def main():
    req = json.load(sys.stdin)
    counts = DictVectorizer(sort=True).fit_transform(req["docs"])
    x = TfidfTransformer().fit_transform(counts)
    out = {}
    for k in req["ks"]:
        km = KMeans(n_clusters=k, random_state=req["seed"], n_init=req["n_init"])
        out[str(k)] = km.fit_predict(x).tolist()
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
