-- 0020: how many members hold each term, kept with the term model it was counted
-- for: the learned embedder weighs a term by how rare it is (IDF), so a tag everyone
-- carries says little about whom a member belongs with. Models fitted before keep an
-- empty map and weigh every term alike.
ALTER TABLE term_models ADD COLUMN doc_freq jsonb NOT NULL DEFAULT '{}';
