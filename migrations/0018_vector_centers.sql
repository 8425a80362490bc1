-- 0018: the common direction of an embedding model's vectors. Real text embeddings
-- share a large component (two unrelated members score 0.76-0.81), so similarities
-- say little. A center is the mean vector of a sample of the membership under one
-- model; embeddings.Centered subtracts it and re-normalizes, and its vectors carry the
-- model name plus "+c<version>", so a new center is found and backfilled like any
-- model change.
CREATE TABLE vector_centers (
    model     text NOT NULL,
    version   integer NOT NULL,
    center    vector(256) NOT NULL,
    members   integer NOT NULL,
    -- mean cosine of random pairs of the sample before and after centering
    squeeze_before real NOT NULL,
    squeeze_after  real NOT NULL,
    fitted_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version)
);
