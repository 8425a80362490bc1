// Command cluster benchmarks Belong's spherical k-means against scikit-learn's
// KMeans (lloyd, elkan) and MiniBatchKMeans on the same data in the same run.
//
// It writes a seeded Gaussian mixture of unit vectors to a raw little-endian float32
// file (once; it is reused), fits it, writes the fitted clusters' mean vectors, has
// ../shared/bench/peer_kmeans.py score them exactly as it scores the peers (Euclidean
// inertia, float64), runs the peers, and prints a table.
//
//	go run -tags openblas ./bench/cluster -n 200000 -dim 256 -k 1000
//
// bench/cluster.sh runs it the way the README describes.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/belong-loyalty/belong/matching/clustering"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/cluster:", err)
		os.Exit(1)
	}
}

func run() error {
	n := flag.Int("n", 200000, "points")
	dim := flag.Int("dim", 256, "dimensions")
	k := flag.Int("k", 1000, "clusters")
	components := flag.Int("components", 2000, "Gaussian components in the mixture")
	noise := flag.Float64("noise", 0.35, "noise around each component centre (per-coordinate sigma × sqrt(dim))")
	seed := flag.Uint64("seed", 1, "seed for the data and the fit")
	maxIter := flag.Int("max-iter", 50, "iteration cap, for us and the peers")
	sample := flag.Int("sample", 0, "fit on a sample of this many points (0: all)")
	tol := flag.Float64("tol", 0.001, "stop when fewer than this share of points change cluster")
	peers := flag.String("peers", "minibatch,lloyd,elkan", "scikit-learn peers to run (empty: none)")
	peerScript := flag.String("peer-script", "../shared/bench/peer_kmeans.py", "the peer runner")
	dir := flag.String("dir", "bench/out", "where data and centroids go")
	timeout := flag.Int("timeout", 900, "seconds each peer may take")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the fit here")
	coarse := flag.Int("coarse", 0, "two levels: this many coarse groups first, then each into its share of k (-1: √k; 0: one level)")
	flag.Parse()

	if err := os.MkdirAll(*dir, 0o755); err != nil {
		return err
	}
	data := filepath.Join(*dir, fmt.Sprintf("mixture-%dx%d-c%d-s%d.f32", *n, *dim, *components, *seed))
	if _, err := os.Stat(data); err != nil {
		fmt.Fprintf(os.Stderr, "writing %s\n", data)
		if err := writeMixture(data, *n, *dim, *components, *noise, *seed); err != nil {
			return err
		}
	}
	x, err := readMatrix(data, *dim)
	if err != nil {
		return err
	}

	runtime.GC()
	debug.SetGCPercent(25) // as the nightly run does (matching.Job)
	if *cpuprofile != "" {
		pf, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(pf); err != nil {
			return err
		}
	}
	start := time.Now()
	groups := *coarse
	if groups < 0 {
		groups = int(math.Round(math.Sqrt(float64(*k))))
	}
	res, err := clustering.TwoLevelKMeans(context.Background(), x, clustering.KMeansConfig{K: *k, Seed: *seed, MaxIter: *maxIter, Sample: *sample, Tol: *tol}, groups)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	if *cpuprofile != "" {
		pprof.StopCPUProfile()
	}
	peak := peakRSS()

	// Score the partition as the peers are scored: each cluster's mean vector is its
	// inertia-optimal centre.
	means := make([][]float64, *k)
	counts := make([]int, *k)
	for c := range means {
		means[c] = make([]float64, *dim)
	}
	for i, c := range res.Assign {
		counts[c]++
		for j, f := range x[i] {
			means[c][j] += float64(f)
		}
	}
	cent := filepath.Join(*dir, "belong-centroids.f32")
	f, err := os.Create(cent)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for c := range means {
		for j := range means[c] {
			v := res.Centroids[c][j] // an empty cluster keeps its unit centroid
			if counts[c] > 0 {
				v = float32(means[c][j] / float64(counts[c]))
			}
			binary.Write(w, binary.LittleEndian, v)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	f.Close()

	type row struct {
		Algo       string  `json:"algo"`
		Wall       float64 `json:"wall_s"`
		Inertia    float64 `json:"inertia"`
		Iterations int     `json:"iterations"`
		Timeout    bool    `json:"timeout"`
		Failed     bool    `json:"failed"`
	}
	algo := fmt.Sprintf("belong spherical k-means (%s BLAS)", clustering.BLAS)
	if groups > 1 {
		algo = fmt.Sprintf("belong two-level spherical k-means, %d groups (%s BLAS)", groups, clustering.BLAS)
	}
	ours := row{Algo: algo, Wall: wall.Seconds(), Iterations: res.Iterations}
	out, err := exec.Command("/usr/bin/python3", *peerScript, "--data", data, "--dim", fmt.Sprint(*dim), "--score", cent).Output()
	if err != nil {
		return fmt.Errorf("score our centroids: %w", err)
	}
	var scored struct{ Inertia float64 }
	if err := json.Unmarshal(out, &scored); err != nil {
		return fmt.Errorf("score our centroids: %w (%s)", err, out)
	}
	ours.Inertia = scored.Inertia
	rows := []row{ours}
	fmt.Fprintf(os.Stderr, "belong: %.2fs, %d iterations, inertia %.1f, peak RSS %.0f MiB\n", ours.Wall, ours.Iterations, ours.Inertia, peak)

	if *peers != "" {
		cmd := exec.Command("/usr/bin/python3", *peerScript, "--data", data, "--dim", fmt.Sprint(*dim), "--k", fmt.Sprint(*k),
			"--algos", *peers, "--max-iter", fmt.Sprint(*maxIter), "--seed", fmt.Sprint(*seed), "--timeout", fmt.Sprint(*timeout))
		cmd.Stderr = os.Stderr
		out, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("peers: %w", err)
		}
		for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
			var r row
			if json.Unmarshal([]byte(line), &r) == nil {
				r.Algo = "scikit-learn " + r.Algo
				rows = append(rows, r)
			}
		}
	}
	fmt.Printf("\n%d × %d unit vectors, k = %d, max %d iterations, seed %d, GOMAXPROCS %d\n\n", *n, *dim, *k, *maxIter, *seed, runtime.GOMAXPROCS(0))
	fmt.Println("| run | wall s | iterations | inertia | vs belong inertia |")
	fmt.Println("|---|---:|---:|---:|---:|")
	for _, r := range rows {
		switch {
		case r.Timeout:
			fmt.Printf("| %s | timeout (> %d s) | | | |\n", r.Algo, *timeout)
		case r.Failed:
			fmt.Printf("| %s | failed | | | |\n", r.Algo)
		default:
			fmt.Printf("| %s | %.2f | %d | %.1f | %+.2f%% |\n", r.Algo, r.Wall, r.Iterations, r.Inertia, 100*(r.Inertia/ours.Inertia-1))
		}
	}
	fmt.Printf("\nbelong peak RSS: %.0f MiB (data %.0f MiB)\n", peak, float64(*n**dim*4)/(1<<20))
	return nil
}

// writeMixture writes n unit vectors drawn around `components` random unit centres
// with Gaussian noise, row-major float32 little-endian.
func writeMixture(path string, n, dim, components int, noise float64, seed uint64) error {
	rng := rand.New(rand.NewPCG(seed, 0x6d6978))
	centres := make([][]float64, components)
	for c := range centres {
		centres[c] = make([]float64, dim)
		var s float64
		for j := range centres[c] {
			centres[c][j] = rng.NormFloat64()
			s += centres[c][j] * centres[c][j]
		}
		for j := range centres[c] {
			centres[c][j] /= math.Sqrt(s)
		}
	}
	f, err := os.Create(path + ".tmp")
	if err != nil {
		return err
	}
	w := bufio.NewWriterSize(f, 1<<20)
	sigma := noise / math.Sqrt(float64(dim))
	v := make([]float64, dim)
	buf := make([]byte, 4*dim)
	for i := 0; i < n; i++ {
		c := centres[rng.IntN(components)]
		var s float64
		for j := range v {
			v[j] = c[j] + sigma*rng.NormFloat64()
			s += v[j] * v[j]
		}
		inv := 1 / math.Sqrt(s)
		for j := range v {
			binary.LittleEndian.PutUint32(buf[4*j:], math.Float32bits(float32(v[j]*inv)))
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

func readMatrix(path string, dim int) ([][]float32, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.Size()%int64(4*dim) != 0 {
		return nil, fmt.Errorf("%s: %d bytes is not a whole number of %d-float rows", path, st.Size(), dim)
	}
	n := int(st.Size() / int64(4*dim))
	// Read straight into the one array the rows share: the file is never held twice.
	flat := make([]float32, n*dim)
	chunk := make([]byte, 4*dim*1024)
	for at := 0; at < len(flat); {
		m := min(len(chunk), 4*(len(flat)-at))
		if _, err := io.ReadFull(f, chunk[:m]); err != nil {
			return nil, err
		}
		for i := 0; i < m; i += 4 {
			flat[at] = math.Float32frombits(binary.LittleEndian.Uint32(chunk[i:]))
			at++
		}
	}
	x := make([][]float32, n)
	for i := range x {
		x[i] = flat[i*dim : (i+1)*dim] // rows keep the array's capacity: k-means sees one array
	}
	return x, nil
}

// peakRSS is the process's peak resident memory in MiB (VmHWM).
func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(v), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}
