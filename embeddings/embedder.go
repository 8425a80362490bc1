package embeddings

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"math"
	"sort"
	"strconv"
)

// Dim is the vector dimension the schema stores (vector(256)).
const Dim = 256

// Embedder maps profiles to unit vectors of Dim() dimensions.
type Embedder interface {
	// Model names the embedding model; it is stored beside each vector so a change of
	// model can be found and backfilled.
	Model() string
	Dim() int
	Embed(ctx context.Context, profiles []Profile) ([][]float32, error)
}

// Profile is what an embedder sees of a member: never their name or contact details.
type Profile struct {
	Interests  []string
	Causes     []string
	SkillLevel string
	Activity   []Activity
}

// Activity is how much a member did one kind of thing lately.
type Activity struct {
	Type     string
	Category string
	// Weight is the recency-decayed count of such events (each event weighs
	// 0.5^(age/half-life)).
	Weight float64
}

// Hash is a digest of everything in p that reaches a vector, order-insensitive, so an
// unchanged profile is not embedded again. Activity weights are rounded to one decimal
// place of their log so that decay alone rarely triggers re-embedding.
func (p Profile) Hash(model string) []byte {
	h := sha256.New()
	w := func(s string) {
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	w(model)
	for _, list := range [][]string{p.Interests, p.Causes} {
		s := append([]string(nil), list...)
		sort.Strings(s)
		w(strconv.Itoa(len(s)))
		for _, t := range s {
			w(t)
		}
	}
	w(p.SkillLevel)
	acts := append([]Activity(nil), p.Activity...)
	sort.Slice(acts, func(i, j int) bool {
		if acts[i].Type != acts[j].Type {
			return acts[i].Type < acts[j].Type
		}
		return acts[i].Category < acts[j].Category
	})
	for _, a := range acts {
		w(a.Type)
		w(a.Category)
		w(strconv.FormatFloat(math.Round(math.Log1p(a.Weight)*10)/10, 'f', 1, 64))
	}
	return h.Sum(nil)
}
