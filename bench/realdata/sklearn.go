package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"strconv"
)

// sklearnKMeans runs kmeans.py: scikit-learn KMeans (n_init restarts, the library's
// default of 10) on TF-IDF of the members' terms, once for each k.
func sklearnKMeans(python, script string, ms []member, ks []int, seed uint64, nInit int) (map[int][]int, error) {
	docs := make([]map[string]float64, len(ms))
	for i, m := range ms {
		docs[i] = map[string]float64{}
		for j, t := range m.terms {
			docs[i][t] += m.weights[j]
		}
	}
	in, err := json.Marshal(map[string]any{"docs": docs, "ks": ks, "seed": seed, "n_init": nInit})
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(python, script)
	cmd.Env = append(cmd.Environ(), "OMP_NUM_THREADS=2", "OPENBLAS_NUM_THREADS=1")
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %s", script, err, stderr.Bytes())
	}
	var byK map[string][]int
	if err := json.Unmarshal(out, &byK); err != nil {
		return nil, fmt.Errorf("%s: %w", script, err)
	}
	res := map[int][]int{}
	for k, a := range byK {
		n, err := strconv.Atoi(k)
		if err != nil {
			return nil, err
		}
		res[n] = a
	}
	return res, nil
}
