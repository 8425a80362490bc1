package embeddings

import (
	"context"
	"math"
	"strings"

	"github.com/belong-loyalty/belong/members"
)

// Local is the offline embedder: signed feature hashing of interest and cause phrases,
// their words and character trigrams, the skill level, and a behaviour block of
// activity types and categories (log-scaled, recency-decayed weights). Categories hash
// to the same features as the interest of the same name, so doing trail running and
// saying "trail running" point the same way. It is deterministic and needs no network.
type Local struct {
	dim int
}

var _ Embedder = (*Local)(nil)

// LocalModel is the model name Local stores beside its vectors.
const LocalModel = "local-hash-v1"

// NewLocal returns the local embedder at the schema's dimension.
func NewLocal() *Local { return &Local{dim: Dim} }

// Model implements Embedder.
func (l *Local) Model() string { return LocalModel }

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
	wSay     = 0.8 // the stated block in the blend
	wDo      = 0.6 // the behaviour block in the blend
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
			l.phrase(say, "i:", t, wPhrase)
		}
		for _, t := range p.Causes {
			l.phrase(say, "c:", t, wCause)
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
				l.phrase(do, "i:", strings.ToLower(a.Category), w)
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
				x += wSay * say[j] / ns
			}
			if nd > 0 {
				x += wDo * do[j] / nd
			}
			v[j] = float32(x)
		}
		Normalize(v)
		out[i] = v
	}
	return out, nil
}

// phrase adds a phrase's whole-phrase, word and trigram features under namespace ns.
func (l *Local) phrase(v []float64, ns, t string, w float64) {
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
	v[int(x%uint64(l.dim))] += w
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
