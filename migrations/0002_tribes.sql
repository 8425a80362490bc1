-- 0002: tribes, a coarse level above the micro-communities, each labelled; every
-- community of a run belongs to one tribe of the same run.
CREATE SEQUENCE tribe_seq;

CREATE TABLE tribes (
    run_id      bigint NOT NULL REFERENCES cluster_runs (id) ON DELETE CASCADE,
    id          text NOT NULL,
    centroid    vector(256) NOT NULL,
    size        integer NOT NULL,
    communities integer NOT NULL,
    labels      text[] NOT NULL,
    name        text NOT NULL,
    PRIMARY KEY (run_id, id)
);

ALTER TABLE communities ADD COLUMN tribe_id text;
ALTER TABLE communities ADD FOREIGN KEY (run_id, tribe_id) REFERENCES tribes (run_id, id);
