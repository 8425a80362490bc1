package main

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/belong-loyalty/belong/embeddings"
	"github.com/belong-loyalty/belong/matching/clustering"
)

// row is one scored partition.
type row struct {
	method, vectors string
	s               scores
	took            time.Duration
}

// belongRun is one run of clustering.Cluster with the member-level assignments of its
// communities and tribes.
type belongRun struct {
	vectors        string
	assign, tribes []int
}

// evaluate clusters ms Belong's way and the bar's way and prints both tables.
func evaluate(ctx context.Context, name string, ms []member, cfg clustering.ClusterConfig, opt options) error {
	truth := labels(ms)
	fmt.Printf("\n### %s: %d members, %d teams, Cluster TargetSize %d, MinSize %d, MaxSize %d\n",
		name, len(ms), len(teamCounts(ms)), cfg.WithDefaults().TargetSize, cfg.WithDefaults().MinSize, cfg.WithDefaults().MaxSize)

	vecs, err := vectorSets(ctx, ms)
	if err != nil {
		return err
	}
	var comm, trib []row
	var runs []belongRun
	for _, v := range vecs {
		t0 := time.Now()
		cl, err := clustering.Cluster(ctx, v.x, clustering.Previous{}, cfg)
		if err != nil {
			return fmt.Errorf("%s: cluster %s: %w", name, v.name, err)
		}
		took := time.Since(t0)
		tribes := make([]int, len(ms))
		for i, c := range cl.Assign {
			tribes[i] = cl.Tribe[c]
		}
		runs = append(runs, belongRun{vectors: v.name, assign: cl.Assign, tribes: tribes})
		comm = append(comm, row{"Belong Cluster", v.name, score(cl.Assign, truth), took})
		trib = append(trib, row{"Belong Cluster (tribes)", v.name, score(tribes, truth), took})
	}
	tf := vecs[len(vecs)-1].x // TF-IDF is the last set
	bars, barAssign, err := kmeansBars(ctx, ms, tf, truth, ks(comm), true, opt)
	if err != nil {
		return err
	}
	comm = append(comm, bars...)
	tbars, _, err := kmeansBars(ctx, ms, tf, truth, ks(trib), false, opt)
	if err != nil {
		return err
	}
	trib = append(trib, tbars...)
	comm = append(comm, row{"random, Belong's sizes", "—", random(runs[0].assign, truth, opt.runs, opt.seed), 0})
	trib = append(trib, row{"random, Belong's tribe sizes", "—", random(runs[0].tribes, truth, opt.runs, opt.seed), 0})

	fmt.Printf("\n#### %s — communities\n\n", name)
	printRows(comm)
	fmt.Printf("\n#### %s — tribes\n\n", name)
	printRows(trib)
	if name == "Packages" {
		printPerTeam(ms, truth, runs, barAssign)
	}
	return nil
}

// vectorSet is one way of turning members into unit vectors.
type vectorSet struct {
	name string
	x    [][]float32
}

// vectorSets embeds the members Belong's ways (hashing and learned, centred; hashing
// IDF-weighted and uncentred for reference) and as TF-IDF, last.
func vectorSets(ctx context.Context, ms []member) ([]vectorSet, error) {
	local, err := embed(ctx, embeddings.NewLocal(), ms, true)
	if err != nil {
		return nil, err
	}
	raw, err := embed(ctx, embeddings.NewLocal(), ms, false)
	if err != nil {
		return nil, err
	}
	model, err := embeddings.FitTerms(docs(ms), embeddings.FitConfig{})
	if err != nil {
		return nil, fmt.Errorf("fit terms: %w", err)
	}
	learned, err := embed(ctx, embeddings.NewLearned(model), ms, true)
	if err != nil {
		return nil, err
	}
	df := docFreq(ms)
	localIDF, err := embed(ctx, embeddings.NewLocal().WithIDF(df, len(ms)), ms, true)
	if err != nil {
		return nil, err
	}
	return []vectorSet{
		{"hashing (NewLocal), centred", local},
		{fmt.Sprintf("learned (FitTerms, %d terms, IDF from its counts: as served), centred", len(model.Terms)), learned},
		{"hashing, IDF-weighted, centred", localIDF},
		{"hashing (NewLocal), not centred", raw},
		{"TF-IDF of the terms", tfidf(ms)},
	}, nil
}

// kmeansBars runs plain k-means on the TF-IDF vectors for each k: Belong's
// SphericalKMeans and, when available, scikit-learn's KMeans. It also returns the
// scikit-learn assignment (else the spherical one) at the first k. With others, it adds
// scikit-learn's other groupings of the same vectors at the first k and the supervised
// ceiling (see kmeans.py).
func kmeansBars(ctx context.Context, ms []member, tf [][]float32, truth, kk []int, others bool, opt options) ([]row, []int, error) {
	var rows []row
	var first []int
	for _, k := range kk {
		t0 := time.Now()
		km, err := clustering.SphericalKMeans(ctx, tf, clustering.KMeansConfig{K: k, Seed: opt.seed})
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, row{"SphericalKMeans, k=" + fmt.Sprint(k), "TF-IDF of the terms", score(km.Assign, truth), time.Since(t0)})
		if first == nil {
			first = km.Assign
		}
	}
	if !opt.sklearn {
		return rows, first, nil
	}
	t0 := time.Now()
	othersK := 0
	if others {
		othersK = kk[0]
	}
	sk, err := sklearnKMeans(opt.python, opt.script, ms, kk, othersK, opt.seed, opt.nInit)
	if err != nil {
		return nil, nil, err
	}
	took := time.Since(t0) / time.Duration(len(kk))
	for i, k := range kk {
		rows = append(rows, row{fmt.Sprintf("scikit-learn KMeans (n_init=%d), k=%d", opt.nInit, k), "TF-IDF of the terms", score(sk.byK[k], truth), took})
		if i == 0 {
			first = sk.byK[k]
		}
	}
	for _, o := range []struct{ key, method string }{
		{"lsa", "scikit-learn KMeans on an 80-dim truncated SVD (LSA), k=%d"},
		{"spectral", "scikit-learn spectral clustering, 10-NN graph, k=%d"},
		{"ward", "scikit-learn Ward agglomerative, k=%d"},
		{"supervised", "ceiling: team predicted by logistic regression (5-fold, trained on the teams; not a clustering)"},
	} {
		if a, ok := sk.others[o.key]; ok {
			method := o.method
			if o.key != "supervised" {
				method = fmt.Sprintf(o.method, othersK)
			}
			rows = append(rows, row{method, "TF-IDF of the terms", score(a, truth), 0})
		}
	}
	return rows, first, nil
}

// ks are the distinct partition sizes of the rows, in order of first appearance.
func ks(rows []row) []int {
	var out []int
	for _, r := range rows {
		if !slices.Contains(out, r.s.k) {
			out = append(out, r.s.k)
		}
	}
	return out
}

// labels numbers the members' teams.
func labels(ms []member) []int {
	ids := map[string]int{}
	out := make([]int, len(ms))
	for i, m := range ms {
		id, ok := ids[m.team]
		if !ok {
			id = len(ids)
			ids[m.team] = id
		}
		out[i] = id
	}
	return out
}

func teamCounts(ms []member) map[string]int {
	c := map[string]int{}
	for _, m := range ms {
		c[m.team]++
	}
	return c
}

// sameTeamShare is, for each team, the mean share of its members' community-mates
// who are in their team (0 for a member alone).
func sameTeamShare(assign, truth []int) map[int]float64 {
	joint := map[[2]int]int{}
	size := map[int]int{}
	for i, c := range assign {
		joint[[2]int{c, truth[i]}]++
		size[c]++
	}
	sum, n := map[int]float64{}, map[int]int{}
	for i, c := range assign {
		n[truth[i]]++
		if size[c] > 1 {
			sum[truth[i]] += float64(joint[[2]int{c, truth[i]}]-1) / float64(size[c]-1)
		}
	}
	for t := range sum {
		sum[t] /= float64(n[t])
	}
	return sum
}

func printRows(rows []row) {
	fmt.Println("| method | vectors | k | sizes min/med/max | purity | NMI | pair precision | mates same team | pair recall | time |")
	fmt.Println("|---|---|--:|---|--:|--:|--:|--:|--:|--:|")
	for _, r := range rows {
		fmt.Printf("| %s | %s | %d | %d/%d/%d | %.3f | %.3f | %.3f | %.3f | %.3f | %s |\n", r.method, r.vectors, r.s.k,
			r.s.minSize, r.s.med, r.s.maxSize, r.s.purity, r.s.nmi, r.s.precision, r.s.mates, r.s.recall, fmtDur(r.took))
	}
}

func fmtDur(d time.Duration) string {
	if d == 0 {
		return "—"
	}
	return d.Round(10 * time.Millisecond).String()
}

// printPerTeam shows, team by team, the mean share of a member's community-mates in
// its team, for each Belong run and the k-means bar.
func printPerTeam(ms []member, truth []int, runs []belongRun, bar []int) {
	names := map[int]string{}
	for i, m := range ms {
		names[truth[i]] = m.team
	}
	counts := teamCounts(ms)
	teams := make([]int, 0, len(names))
	for t := range names {
		teams = append(teams, t)
	}
	sort.Slice(teams, func(a, b int) bool { return counts[names[teams[a]]] > counts[names[teams[b]]] })
	shares := make([]map[int]float64, 0, len(runs)+1)
	head, rule := "| team | members |", "|---|--:|"
	for _, r := range runs {
		shares = append(shares, sameTeamShare(r.assign, truth))
		head += " Belong, " + r.vectors + " |"
		rule += "--:|"
	}
	shares = append(shares, sameTeamShare(bar, truth))
	fmt.Println("\n#### Packages — per team: mean share of a member's community-mates in its team")
	fmt.Println()
	fmt.Println(head + " k-means on TF-IDF |")
	fmt.Println(rule + "--:|")
	for _, t := range teams {
		line := fmt.Sprintf("| %s | %d |", names[t], counts[names[t]])
		for _, sh := range shares {
			line += fmt.Sprintf(" %.2f |", sh[t])
		}
		fmt.Println(line)
	}
}

// printData reports how the members were chosen.
func printData(sources, teamSources, tagged int, pkgs []member, excluded, small map[string]int, minTeam int) {
	fmt.Println("## Data: Debian bookworm main, Sources + Packages (amd64)")
	fmt.Println()
	fmt.Printf("- %d source packages with binaries; %d team-maintained; %d of those have an interest tag "+
		"(debtags other than role::, made-of::, implemented-in::, special::)\n", sources, teamSources, tagged)
	fmt.Printf("- left out, language teams and QA (≥ %d tagged packages): %s\n", minTeam, list(excluded))
	fmt.Printf("- left out, teams under %d tagged packages: %d teams, %d packages\n", minTeam, len(small), total(small))
	counts := teamCounts(pkgs)
	var terms = map[string]bool{}
	var per float64
	for _, m := range pkgs {
		for _, t := range m.terms {
			terms[t] = true
		}
		per += float64(len(m.terms))
	}
	fmt.Printf("- **members: %d packages in %d teams**, %d distinct terms, %.1f terms per member (section included)\n",
		len(pkgs), len(counts), len(terms), per/float64(len(pkgs)))
	fmt.Printf("- teams: %s\n", list(counts))
}

func list(m map[string]int) string {
	keys := sortedKeys(m)
	sort.SliceStable(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] })
	s := ""
	for i, k := range keys {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%s %d", k, m[k])
	}
	return s
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}
