package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
)

// sklearnResult is what kmeans.py answers: KMeans's assignment for each k and, when
// asked for, the other groupings by name (lsa, spectral, ward, supervised).
type sklearnResult struct {
	byK    map[int][]int
	others map[string][]int
}

// sklearnKMeans runs kmeans.py: scikit-learn KMeans (n_init restarts, the library's
// default of 10) on TF-IDF of the members' terms, once for each k; with othersK > 0
// also the other groupings into othersK groups and the supervised ceiling.
func sklearnKMeans(python, script string, ms []member, ks []int, othersK int, seed uint64, nInit int) (sklearnResult, error) {
	docs := make([]map[string]float64, len(ms))
	teams := labels(ms)
	for i, m := range ms {
		docs[i] = map[string]float64{}
		for j, t := range m.terms {
			docs[i][t] += m.weights[j]
		}
	}
	in, err := json.Marshal(map[string]any{"docs": docs, "ks": ks, "seed": seed, "n_init": nInit,
		"others_k": othersK, "teams": teams})
	if err != nil {
		return sklearnResult{}, err
	}
	cmd := exec.Command(python, script)
	cmd.Env = append(cmd.Environ(), "OMP_NUM_THREADS=2", "OPENBLAS_NUM_THREADS=1")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return sklearnResult{}, fmt.Errorf("%s: %w: %s", script, err, stderr.Bytes())
	}
	var byName map[string][]int
	if err := json.Unmarshal(out, &byName); err != nil {
		return sklearnResult{}, fmt.Errorf("%s: %w", script, err)
	}
	res := sklearnResult{byK: map[int][]int{}, others: map[string][]int{}}
	for name, a := range byName {
		if k, err := strconv.Atoi(name); err == nil {
			res.byK[k] = a
		} else {
			res.others[name] = a
		}
	}
	return res, nil
}
