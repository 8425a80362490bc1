-- 0005: learned term models (PPMI + SVD over the membership's own co-occurrence of
-- interests, causes and activity categories). Each refit is a new version; vectors
-- record the model version that made them ("learned-ppmi-v<N>"), so a refit is found
-- and backfilled like any model change.
CREATE TABLE term_models (
    version   integer PRIMARY KEY,
    dim       integer NOT NULL,
    members   integer NOT NULL,
    terms     jsonb NOT NULL,
    fitted_at timestamptz NOT NULL DEFAULT now()
);
