// Package pilots runs co-creation with members: pilot cohorts drawn as stratified,
// reproducible samples, and the feedback members give, with its sentiment and themes.
package pilots

import (
	"hash/fnv"
	"sort"
	"strconv"
)

// Candidate is a member who may be invited, with the stratum they belong to (their
// community, or their lifecycle stage).
type Candidate struct {
	MemberID string
	Stratum  string
}

// Sample draws size candidates so that each stratum is represented in proportion to
// its share of all candidates (largest remainder), choosing within a stratum by a
// seeded hash of the member id: the same candidates, size and seed give the same
// sample, and a member's chance does not depend on the order they were listed in.
func Sample(cands []Candidate, size int, seed uint64) []Candidate {
	if size >= len(cands) {
		out := append([]Candidate(nil), cands...)
		sortByHash(out, seed)
		return out
	}
	by := map[string][]Candidate{}
	var strata []string
	for _, c := range cands {
		if _, ok := by[c.Stratum]; !ok {
			strata = append(strata, c.Stratum)
		}
		by[c.Stratum] = append(by[c.Stratum], c)
	}
	sort.Strings(strata)
	type share struct {
		stratum string
		n       int
		rem     float64
	}
	shares := make([]share, len(strata))
	taken := 0
	for i, s := range strata {
		exact := float64(size) * float64(len(by[s])) / float64(len(cands))
		shares[i] = share{s, int(exact), exact - float64(int(exact))}
		taken += int(exact)
	}
	order := make([]int, len(shares))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return shares[order[a]].rem > shares[order[b]].rem })
	for _, i := range order {
		if taken == size {
			break
		}
		if shares[i].n < len(by[shares[i].stratum]) {
			shares[i].n++
			taken++
		}
	}
	var out []Candidate
	for _, sh := range shares {
		group := by[sh.stratum]
		sortByHash(group, seed)
		out = append(out, group[:sh.n]...)
	}
	return out
}

func sortByHash(cs []Candidate, seed uint64) {
	key := func(id string) uint64 {
		h := fnv.New64a()
		h.Write([]byte(strconv.FormatUint(seed, 10)))
		h.Write([]byte{0})
		h.Write([]byte(id))
		return h.Sum64()
	}
	sort.Slice(cs, func(i, j int) bool {
		a, b := key(cs[i].MemberID), key(cs[j].MemberID)
		if a != b {
			return a < b
		}
		return cs[i].MemberID < cs[j].MemberID
	})
}
