package main

import (
	"context"
	"math"
	"sort"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/members"
)

// profiles turns members into what Belong's embedders see: the terms as interests
// and, where a term has a weight above 1 (a person maintaining several packages that
// carry it), as activity of that weight, the way Belong weighs what members do.
func profiles(ms []member) []embeddings.Profile {
	out := make([]embeddings.Profile, len(ms))
	for i, m := range ms {
		out[i].Interests = m.terms
		for j, t := range m.terms {
			if m.weights[j] > 1 {
				out[i].Activity = append(out[i].Activity,
					embeddings.Activity{Type: "maintains", Category: t, Weight: m.weights[j]})
			}
		}
	}
	return out
}

// embed runs emb over the members and, when centre is set, removes the mean direction
// as embeddings.Centered does with a stored center (the mean of every member here).
func embed(ctx context.Context, emb embeddings.Embedder, ms []member, centre bool) ([][]float32, error) {
	x, err := emb.Embed(ctx, profiles(ms))
	if err != nil {
		return nil, err
	}
	if centre {
		centred(x)
	}
	return x, nil
}

// centred subtracts the mean vector from each row and re-normalizes it; a row equal to
// the mean keeps its direction, as in embeddings.Centered.
func centred(x [][]float32) {
	if len(x) == 0 {
		return
	}
	mean := make([]float64, len(x[0]))
	for _, v := range x {
		for j, f := range v {
			mean[j] += float64(f)
		}
	}
	for j := range mean {
		mean[j] /= float64(len(x))
	}
	for _, v := range x {
		var s float64
		for j, f := range v {
			d := float64(f) - mean[j]
			s += d * d
		}
		if s < 1e-12 {
			continue
		}
		for j := range v {
			v[j] -= float32(mean[j])
		}
		embeddings.Normalize(v)
	}
}

// tfidf is scikit-learn's default TF-IDF of the members' terms, one dimension per
// distinct term: raw weight × (ln((1+n)/(1+df)) + 1), each row L2-normalized.
func tfidf(ms []member) [][]float32 {
	df := map[string]int{}
	for _, m := range ms {
		for _, t := range m.terms {
			df[t]++
		}
	}
	vocab := make([]string, 0, len(df))
	for t := range df {
		vocab = append(vocab, t)
	}
	sort.Strings(vocab)
	index := make(map[string]int, len(vocab))
	for i, t := range vocab {
		index[t] = i
	}
	n := float64(len(ms))
	x := make([][]float32, len(ms))
	for i, m := range ms {
		v := make([]float32, len(vocab))
		for j, t := range m.terms {
			idf := math.Log((1+n)/(1+float64(df[t]))) + 1
			v[index[t]] += float32(m.weights[j] * idf)
		}
		embeddings.Normalize(v)
		x[i] = v
	}
	return x
}

// docs are the members' distinct terms, what embeddings.FitTerms learns from.
func docs(ms []member) [][]string {
	out := make([][]string, len(ms))
	for i, m := range ms {
		out[i] = m.terms
	}
	return out
}

// docFreq counts the members holding each term, by members.TermKey.
func docFreq(ms []member) map[string]int {
	df := map[string]int{}
	for _, m := range ms {
		seen := map[string]bool{}
		for _, t := range m.terms {
			if k := members.TermKey(t); !seen[k] {
				seen[k] = true
				df[k]++
			}
		}
	}
	return df
}
