package embeddings

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/belong-loyalty/belong/members"
)

// Local is the offline embedder: signed feature hashing of interest and cause phrases,
// their words and character trigrams, the skill level, and a behaviour block of
// activity types and categories (log-scaled, recency-decayed weights). Categories hash
// to the same features as the interest of the same name, so doing trail running and
// saying "trail running" point the same way. It is deterministic and needs no network.
//
// With a TermModel (NewLearned), terms the membership has taught it go through their
// learned vectors in the first TermModel.Dim coordinates, and everything else is
// hashed into the rest: so "ultramarathons" lands near "trail running" when members
// hold them together, and a term never seen still counts.
type Local struct {
	dim      int
	terms    *TermModel
	say, do  float64
	weighted bool
	// idf weighs each term (by members.TermKey) by how rare it is in the membership
	// (WithIDF); nil weighs every term alike.
	idf map[string]float64
}

var _ Embedder = (*Local)(nil)

// LocalModel is the model name the hashing embedder stores beside its vectors.
const LocalModel = "local-hash-v1"

// learnedRevision changes whenever the way learned vectors are combined changes, so
// vectors made the old way are re-embedded (r2: unseen terms lean on learned words).
const learnedRevision = "-r2"

// NewLocal returns the hashing embedder at the schema's dimension.
func NewLocal() *Local { return &Local{dim: Dim, say: DefaultSayWeight, do: DefaultDoWeight} }

// NewLearned returns the local embedder with learned term vectors, weighing terms by
// their rarity in the membership the model was fitted on when it counted them.
func NewLearned(m *TermModel) *Local {
	l := NewLocal()
	l.terms = m
	if len(m.DF) > 0 {
		l = l.WithIDF(m.DF, m.Members)
	}
	return l
}

// WithWeights returns a copy that blends what members say and what they do with the
// given weights (the defaults are DefaultSayWeight and DefaultDoWeight). Other weights
// make another model name, so vectors are re-embedded.
func (l *Local) WithWeights(say, do float64) *Local {
	c := *l
	c.say, c.do = say, do
	c.weighted = say != DefaultSayWeight || do != DefaultDoWeight
	return &c
}

// WithIDF returns a copy that weighs each term by its smoothed inverse document
// frequency, log((1+n)/(1+df)) + 1, in a membership of n members where df[key] hold
// the term (by members.TermKey), scaled so that the mean weight over df is 1: a tag
// everyone carries says little about whom a member belongs with. Terms not in df
// count as the rarest.
func (l *Local) WithIDF(df map[string]int, n int) *Local {
	c := *l
	c.idf = make(map[string]float64, len(df))
	var sum float64
	for k, d := range df {
		w := math.Log(float64(1+n)/float64(1+d)) + 1
		c.idf[k] = w
		sum += w
	}
	if len(df) > 0 {
		mean := sum / float64(len(df))
		for k := range c.idf {
			c.idf[k] /= mean
		}
		c.idf[""] = (math.Log(float64(1+n)) + 1) / mean // unseen
	}
	return &c
}

// weight is term t's IDF weight (1 without WithIDF).
func (l *Local) weight(t string) float64 {
	if l.idf == nil {
		return 1
	}
	if w, ok := l.idf[members.TermKey(t)]; ok {
		return w
	}
	return l.idf[""]
}

// Model implements Embedder: the hashing or learned model's name, plus the blend
// weights when they are not the defaults.
func (l *Local) Model() string {
	name := LocalModel
	if l.terms != nil {
		// The term model's version, and the revision of how this code uses it.
		name = l.terms.Name() + learnedRevision
	}
	if l.idf != nil {
		name += "+idf"
	}
	if l.weighted {
		name += fmt.Sprintf("+say%g-do%g", l.say, l.do)
	}
	return name
}

// Dim implements Embedder.
func (l *Local) Dim() int { return l.dim }

// Weights of each kind of feature. Whole phrases carry most of the signal; words and
// trigrams let "trail running" and "road running" share some of it.
const (
	wPhrase  = 1.0
	wWord    = 0.45
	wTrigram = 0.35 // split across a phrase's trigrams
	wCause   = 0.7
	wSkill   = 0.45
	wRelated = 0.7 // an unseen term's pull towards learned terms sharing a word
)

// The blend of a member's vector: what they say (interests, causes, skill) and what
// they do (activity), each block normalized first.
const (
	DefaultSayWeight = 0.8
	DefaultDoWeight  = 0.6
)

// Embed implements Embedder. It never fails and ignores ctx: it is pure computation.
func (l *Local) Embed(_ context.Context, profiles []Profile) ([][]float32, error) {
	out := make([][]float32, len(profiles))
	say := make([]float64, l.dim)
	do := make([]float64, l.dim)
	for i, p := range profiles {
		clear(say)
		clear(do)
		for _, t := range p.Interests {
			l.phrase(say, "i:", t, wPhrase*l.weight(t))
		}
		for _, t := range p.Causes {
			l.phrase(say, "c:", t, wCause*l.weight(t))
		}
		if r := members.SkillRank(p.SkillLevel); r >= 0 {
			// A level and its neighbours share features, so adjacent levels stay close.
			l.add(say, "s:", p.SkillLevel, wSkill)
			if r > 0 {
				l.add(say, "s:", members.SkillLevels[r-1], wSkill/2)
			}
			if r+1 < len(members.SkillLevels) {
				l.add(say, "s:", members.SkillLevels[r+1], wSkill/2)
			}
		}
		for _, a := range p.Activity {
			w := math.Log1p(a.Weight)
			if w <= 0 {
				continue
			}
			l.add(do, "t:", a.Type, 0.5*w)
			if a.Category != "" {
				l.phrase(do, "i:", strings.ToLower(a.Category), w*l.weight(a.Category))
			}
		}
		v := make([]float32, l.dim)
		ns, nd := norm(say), norm(do)
		if ns == 0 && nd == 0 {
			// Nothing known: every such member shares one direction.
			l.add(say, "empty", "", 1)
			ns = norm(say)
		}
		for j := range v {
			var x float64
			if ns > 0 {
				x += l.say * say[j] / ns
			}
			if nd > 0 {
				x += l.do * do[j] / nd
			}
			v[j] = float32(x)
		}
		Normalize(v)
		out[i] = v
	}
	return out, nil
}

// phrase adds a phrase: its learned vector when the term model knows it, else its
// whole-phrase, word and trigram features hashed under namespace ns.
func (l *Local) phrase(v []float64, ns, t string, w float64) {
	if l.terms != nil {
		key := members.TermKey(t)
		if vec, ok := l.terms.Terms[key]; ok {
			for j, f := range vec {
				v[j] += w * float64(f)
			}
			return
		}
		// Unseen: lean towards learned terms that share a word, then hash as usual.
		if rel := l.terms.related(key); len(rel) > 0 {
			share := w * wRelated / float64(len(rel))
			for _, r := range rel {
				for j, f := range l.terms.Terms[r] {
					v[j] += share * float64(f)
				}
			}
		}
	}
	l.add(v, ns, t, w)
	words := strings.Fields(t)
	if len(words) > 1 {
		for _, word := range words {
			l.add(v, "w:", word, w*wWord)
		}
	}
	padded := " " + t + " "
	n := len(padded) - 2
	if n <= 0 {
		return
	}
	tw := w * wTrigram / math.Sqrt(float64(n))
	for k := 0; k < n; k++ {
		l.add(v, "g:", padded[k:k+3], tw)
	}
}

// add hashes the feature ns+s (FNV-1a) into one signed coordinate of v.
func (l *Local) add(v []float64, ns, s string, w float64) {
	x := uint64(14695981039346656037)
	for i := 0; i < len(ns); i++ {
		x ^= uint64(ns[i])
		x *= 1099511628211
	}
	for i := 0; i < len(s); i++ {
		x ^= uint64(s[i])
		x *= 1099511628211
	}
	if x>>63 == 1 {
		w = -w
	}
	off := 0
	if l.terms != nil {
		off = l.terms.Dim // learned coordinates come first; hashing uses the rest
	}
	v[off+int(x%uint64(l.dim-off))] += w
}

func norm(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// Normalize scales v to unit length in place; a zero vector stays zero.
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
