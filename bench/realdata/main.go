// Command realdata checks Belong's communities on a real membership (issue 15):
// Debian's source packages and the maintainer teams that look after them.
//
// A member is a team-maintained source package of Debian bookworm with at least one
// debtag about what it is (game::strategy, field::astronomy, use::gameplaying...;
// the packaging facets role::, made-of::, implemented-in:: and special:: are left out)
// plus its section; its true group is its team. Language teams (Perl, Python, Java,
// Haskell...) are left out, since their implemented-in:: and devel::lang tags give
// them away, as is the QA group; the domain teams that remain (Games, Science, Med,
// Multimedia, Fonts, GIS, Hamradio, desktop teams...) with at least -min-team such
// packages are the test. Optionally the people too: each uploader of -min-packages of
// those packages, their interests the packages' terms weighted by count, their group
// the team most of those packages belong to.
//
// Belong's way: embeddings.NewLocal (and the learned term model, embeddings.FitTerms
// then NewLearned) embeds each member, the mean direction is removed as
// embeddings.Centered does, and clustering.Cluster makes tribes and bounded
// communities. The bar: plain k-means on TF-IDF of the same terms with the same
// number of communities (and of tribes) and the same seed, both Belong's
// clustering.SphericalKMeans and scikit-learn's KMeans. Beside the bar, scikit-learn's
// other ways of grouping the same TF-IDF vectors (KMeans on LSA, spectral clustering,
// Ward) show what these terms give any method, and a logistic regression trained on
// the teams (5-fold) is a ceiling. A shuffle of Belong's assignment (same sizes) is the
// floor. Each is scored against the teams: purity, NMI, pairwise precision and recall,
// and the mean share of a member's community-mates in its team.
//
//	bench/realdata.sh   (fetches the indexes once, then runs this)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/belong-loyalty/belong/matching/clustering"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/realdata:", err)
		os.Exit(1)
	}
}

type options struct {
	seed          uint64
	runs, nInit   int
	python        string
	script        string
	sklearn       bool
	packageConfig clustering.ClusterConfig
	peopleConfig  clustering.ClusterConfig
}

func run() error {
	sources := flag.String("sources", "bench/out/realdata/Sources", "Debian Sources index, uncompressed")
	packages := flag.String("packages", "bench/out/realdata/Packages", "Debian Packages index, uncompressed")
	minTeam := flag.Int("min-team", 30, "least tagged packages a team needs to be kept")
	minPackages := flag.Int("min-packages", 5, "least kept packages a person uploads to be one")
	people := flag.Bool("people", true, "also cluster the people")
	tribeSize := flag.Int("tribe-size", 0, "communities a tribe gathers (0: Belong's default, about √k tribes)")
	seed := flag.Uint64("seed", 1, "seed for every clustering")
	runs := flag.Int("runs", 20, "shuffles averaged for the random baseline")
	nInit := flag.Int("n-init", 10, "scikit-learn KMeans restarts (its default)")
	python := flag.String("python", "/usr/bin/python3", "python with scikit-learn (empty: skip it)")
	script := flag.String("script", "bench/realdata/kmeans.py", "the scikit-learn runner")
	flag.StringVar(&phraseStyle, "phrases", phraseStyle, "debtag as interest: words (game strategy), value (strategy) or tag (game::strategy)")
	flag.Parse()
	if phraseStyle != "words" && phraseStyle != "value" && phraseStyle != "tag" {
		return fmt.Errorf("-phrases %q: want words, value or tag", phraseStyle)
	}

	opt := options{seed: *seed, runs: *runs, nInit: *nInit, python: *python, script: *script,
		packageConfig: clustering.ClusterConfig{Seed: *seed, TribeSize: *tribeSize},
		peopleConfig:  clustering.ClusterConfig{Seed: *seed, TargetSize: 20, MinSize: 5, MaxSize: 60, TribeSize: *tribeSize}}
	opt.sklearn = *python != "" && exec.Command(*python, "-c", "import sklearn").Run() == nil

	start := time.Now()
	srcs, err := loadSources(*sources, *packages)
	if err != nil {
		return err
	}
	pkgs, excluded, small, teamSources, tagged := buildMembers(srcs, *minTeam)
	printData(len(srcs), teamSources, tagged, pkgs, excluded, small, *minTeam)

	ctx := context.Background()
	if err := evaluate(ctx, "Packages", pkgs, opt.packageConfig, opt); err != nil {
		return err
	}
	if *people {
		ppl := buildPeople(srcs, pkgs, *minPackages)
		fmt.Printf("\n## People\n\n%d people upload at least %d of the packages above; their team is the one most of them belong to (%d teams).\n",
			len(ppl), *minPackages, len(teamCounts(ppl)))
		if err := evaluate(ctx, "People", ppl, opt.peopleConfig, opt); err != nil {
			return err
		}
	}
	if !opt.sklearn {
		fmt.Printf("\nscikit-learn not found in %q: its rows are missing.\n", *python)
	}
	fmt.Printf("\nTotal time %s.\n", time.Since(start).Round(time.Second))
	return nil
}
