package embeddings

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"gonum.org/v1/gonum/mat"

	"github.com/belong-loyalty/belong/database"
	"github.com/belong-loyalty/belong/members"
	"github.com/belong-loyalty/belong/storage"
)

// TermModel is term similarity learned from the membership itself: terms (interests,
// causes, activity categories) that members hold together get nearby vectors. It is
// the positive pointwise mutual information of terms co-occurring in one member's
// profile, reduced by a truncated SVD (gonum): a term's vector is its row of U·√S,
// normalized. Terms are compared by members.TermKey, so spellings fold together.
type TermModel struct {
	Version int                  `json:"version"`
	Dim     int                  `json:"dim"`
	Members int                  `json:"members"`
	Terms   map[string][]float32 `json:"terms"`
	// DF counts the members holding each term held by at least FitConfig.MinCount
	// (by members.TermKey): NewLearned weighs terms by their rarity (Local.WithIDF).
	DF map[string]int `json:"doc_freq"`

	wordsOnce sync.Once
	words     map[string][]string // word → learned terms that contain it
}

// related returns the learned terms sharing a word with key (an unseen phrase such
// as "spin" finds "spin class"), so an unknown term still points the right way.
func (m *TermModel) related(key string) []string {
	m.wordsOnce.Do(func() {
		m.words = map[string][]string{}
		for t := range m.Terms {
			for _, w := range strings.Fields(t) {
				m.words[w] = append(m.words[w], t)
			}
		}
		for _, ts := range m.words {
			sort.Strings(ts)
		}
	})
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.Fields(key) {
		for _, t := range m.words[w] {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	return out
}

// Name is the model name stored beside vectors made with it.
func (m *TermModel) Name() string { return fmt.Sprintf("learned-ppmi-v%d", m.Version) }

// FitConfig tunes FitTerms.
type FitConfig struct {
	// MinCount drops terms fewer members hold; 5 when zero.
	MinCount int
	// MaxVocab keeps the most common terms; 1,000 when zero (the SVD is cubic in it).
	MaxVocab int
	// Dim is the learned vectors' dimension; 48 when zero.
	Dim int
}

// Learned-model thresholds: below them the hashing embedder stays the default, as
// co-occurrence statistics from a small membership are noise.
const (
	LearnedMinMembers = 2000
	LearnedMinTerms   = 30
)

// ErrTooSmall means the membership is too small to learn term similarity from.
var ErrTooSmall = errors.New("too few members or terms to learn from")

// FitTerms learns term vectors from members' term sets.
func FitTerms(docs [][]string, cfg FitConfig) (*TermModel, error) {
	minCount := max(cfg.MinCount, 1)
	if cfg.MinCount == 0 {
		minCount = 5
	}
	maxVocab := cfg.MaxVocab
	if maxVocab <= 0 {
		maxVocab = 1000
	}
	dim := cfg.Dim
	if dim <= 0 {
		dim = 48
	}
	keyed := make([][]string, len(docs))
	df := map[string]int{}
	for i, d := range docs {
		seen := map[string]bool{}
		for _, t := range d {
			k := members.TermKey(t)
			if k != "" && !seen[k] {
				seen[k] = true
				keyed[i] = append(keyed[i], k)
				df[k]++
			}
		}
	}
	var vocab []string
	for t, n := range df {
		if n >= minCount {
			vocab = append(vocab, t)
		}
	}
	sort.Slice(vocab, func(i, j int) bool {
		if df[vocab[i]] != df[vocab[j]] {
			return df[vocab[i]] > df[vocab[j]]
		}
		return vocab[i] < vocab[j]
	})
	if len(vocab) > maxVocab {
		vocab = vocab[:maxVocab]
	}
	sort.Strings(vocab) // a stable order makes the fit deterministic
	if len(vocab) < 3 {
		return nil, ErrTooSmall
	}
	index := make(map[string]int, len(vocab))
	for i, t := range vocab {
		index[t] = i
	}
	v := len(vocab)
	co := mat.NewSymDense(v, nil)
	var total float64
	for _, d := range keyed {
		var ids []int
		for _, k := range d {
			if i, ok := index[k]; ok {
				ids = append(ids, i)
			}
		}
		for a := 0; a < len(ids); a++ {
			for b := a + 1; b < len(ids); b++ {
				co.SetSym(ids[a], ids[b], co.At(ids[a], ids[b])+1)
				total += 2
			}
		}
	}
	if total == 0 {
		return nil, ErrTooSmall
	}
	rowSum := make([]float64, v)
	for i := 0; i < v; i++ {
		for j := 0; j < v; j++ {
			rowSum[i] += co.At(i, j)
		}
	}
	// Context-distribution smoothing (α = 0.75) keeps rare terms from dominating PMI.
	var smoothed float64
	ctx := make([]float64, v)
	for j := range ctx {
		ctx[j] = math.Pow(rowSum[j], 0.75)
		smoothed += ctx[j]
	}
	ppmi := mat.NewDense(v, v, nil)
	for i := 0; i < v; i++ {
		for j := 0; j < v; j++ {
			c := co.At(i, j)
			if c == 0 || rowSum[i] == 0 || ctx[j] == 0 {
				continue
			}
			pmi := math.Log((c / total) / ((rowSum[i] / total) * (ctx[j] / smoothed)))
			if pmi > 0 {
				ppmi.Set(i, j, pmi)
			}
		}
	}
	var svd mat.SVD
	if !svd.Factorize(ppmi, mat.SVDThin) {
		return nil, errors.New("learn terms: SVD did not converge")
	}
	k := min(dim, v)
	var u mat.Dense
	svd.UTo(&u)
	s := svd.Values(nil)
	m := &TermModel{Dim: k, Members: len(docs), Terms: make(map[string][]float32, v), DF: map[string]int{}}
	for t, n := range df {
		if n >= minCount {
			m.DF[t] = n
		}
	}
	for i, t := range vocab {
		vec := make([]float32, k)
		var n float64
		for c := 0; c < k; c++ {
			x := u.At(i, c) * math.Sqrt(s[c])
			vec[c] = float32(x)
			n += x * x
		}
		if n == 0 {
			continue
		}
		inv := float32(1 / math.Sqrt(n))
		// Fix each vector's sign convention per component so refits are comparable.
		for c := range vec {
			vec[c] *= inv
		}
		m.Terms[t] = vec
	}
	return m, nil
}

// SaveTermModel stores m as the next version and returns it with its version set.
func SaveTermModel(ctx context.Context, db database.DBTX, m *TermModel) error {
	terms, err := json.Marshal(m.Terms)
	if err != nil {
		return fmt.Errorf("save term model: %w", err)
	}
	df, err := json.Marshal(m.DF)
	if err != nil {
		return fmt.Errorf("save term model: %w", err)
	}
	version, err := storage.New(db).SaveTermModel(ctx, storage.SaveTermModelParams{
		Dim: int32(m.Dim), Members: int32(m.Members), Terms: terms, DocFreq: df})
	if err != nil {
		return storage.Translate(err, nil)
	}
	m.Version = int(version)
	return nil
}

// LatestTermModel returns the newest stored model, or nil when none has been fitted.
func LatestTermModel(ctx context.Context, db database.DBTX) (*TermModel, error) {
	row, err := storage.New(db).LatestTermModel(ctx)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("load term model: %w", storage.Translate(err, nil))
	}
	m := &TermModel{Version: int(row.Version), Dim: int(row.Dim), Members: int(row.Members)}
	if err := json.Unmarshal(row.Terms, &m.Terms); err != nil {
		return nil, fmt.Errorf("load term model: %w", err)
	}
	if err := json.Unmarshal(row.DocFreq, &m.DF); err != nil {
		return nil, fmt.Errorf("load term model: %w", err)
	}
	return m, nil
}

// MemberTerms reads every consenting member's terms (interests, causes and activity
// categories): the documents FitTerms learns from.
func MemberTerms(ctx context.Context, db database.DBTX) ([][]string, error) {
	docs, err := storage.New(db).ConsentingMemberTerms(ctx)
	if err != nil {
		return nil, fmt.Errorf("read member terms: %w", storage.Translate(err, nil))
	}
	if docs == nil {
		docs = [][]string{}
	}
	return docs, nil
}
