// Package demo generates a realistic synthetic brand: members drawn from latent
// personas (trail runners, spin-class regulars, yoga beginners, ocean clean-up
// volunteers, ...) with interests, causes, skill levels and 90 days of events.
//
// Generation is seeded and deterministic. Each member's true persona is returned beside
// the data, never inside it, so tests can measure how well clustering recovers it.
package demo

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/belong-loyalty/belong/members"
)

// Persona is a latent kind of member.
type Persona struct {
	Name string
	// Weight is the persona's share of the membership, relative to the others.
	Weight float64
	// Core interests are held by most members of the persona; Extra by some.
	Core, Extra []string
	Causes      []string
	// Skill is the probability of each of members.SkillLevels.
	Skill [4]float64
	// Activities are the event types and categories the persona produces.
	Activities []Activity
	// EventsPerWeek is the persona's mean activity rate.
	EventsPerWeek float64
}

// Activity is an event type with its category.
type Activity struct{ Type, Category string }

// Personas are the demo brand's latent personas: a sports-and-wellbeing brand.
var Personas = []Persona{
	{"trail runners", 1.2, []string{"trail running", "hiking", "ultramarathons"}, []string{"running gear", "mountain trips", "sports nutrition", "camping"},
		[]string{"sustainability", "national parks"}, [4]float64{.15, .4, .35, .1},
		[]Activity{{"run_logged", "trail running"}, {"race_registered", "trail running"}, {"run_logged", "hiking"}}, 3},
	{"spin-class regulars", 1.3, []string{"indoor cycling", "spin class", "hiit"}, []string{"workout playlists", "leaderboards", "strength training"},
		[]string{"mental health"}, [4]float64{.2, .45, .3, .05},
		[]Activity{{"class_completed", "indoor cycling"}, {"class_booked", "indoor cycling"}}, 4},
	{"yoga beginners", 1.1, []string{"yoga", "meditation", "mindfulness"}, []string{"breathwork", "flexibility", "sleep"},
		[]string{"mental health", "community wellbeing"}, [4]float64{.7, .25, .05, 0},
		[]Activity{{"class_completed", "yoga"}, {"session_streamed", "meditation"}}, 2.5},
	{"ocean clean-up volunteers", 0.8, []string{"ocean clean-ups", "surfing", "open water swimming"}, []string{"snorkeling", "beach volleyball", "sailing"},
		[]string{"ocean conservation", "plastic-free living", "sustainability"}, [4]float64{.3, .4, .25, .05},
		[]Activity{{"volunteer_shift", "ocean clean-ups"}, {"session_logged", "surfing"}}, 1.5},
	{"strength lifters", 1.0, []string{"strength training", "powerlifting", "meal prep"}, []string{"protein recipes", "mobility", "bodybuilding"},
		[]string{"healthy ageing"}, [4]float64{.2, .35, .35, .1},
		[]Activity{{"workout_logged", "strength training"}, {"personal_record", "powerlifting"}}, 4},
	{"marathon road runners", 1.0, []string{"marathon training", "road running", "running clubs"}, []string{"tempo runs", "running gear", "sports nutrition"},
		[]string{"charity runs", "mental health"}, [4]float64{.15, .35, .4, .1},
		[]Activity{{"run_logged", "road running"}, {"race_registered", "marathon training"}}, 3.5},
	{"new-parent movers", 0.7, []string{"postnatal fitness", "stroller walks", "pilates"}, []string{"family activities", "sleep", "healthy recipes"},
		[]string{"parenting support", "community wellbeing"}, [4]float64{.6, .35, .05, 0},
		[]Activity{{"class_completed", "pilates"}, {"walk_logged", "stroller walks"}}, 2},
	{"climbers", 0.8, []string{"bouldering", "rock climbing", "camping"}, []string{"hiking", "mountain trips", "mobility"},
		[]string{"national parks", "access to outdoors"}, [4]float64{.25, .4, .3, .05},
		[]Activity{{"session_logged", "bouldering"}, {"session_logged", "rock climbing"}}, 2.5},
	{"dance cardio crew", 0.9, []string{"dance fitness", "zumba", "music"}, []string{"hiit", "workout playlists", "community events"},
		[]string{"community wellbeing", "inclusion in sport"}, [4]float64{.45, .4, .15, 0},
		[]Activity{{"class_completed", "dance fitness"}, {"event_attended", "community events"}}, 3},
	{"road and gravel cyclists", 0.9, []string{"road cycling", "gravel riding", "bike touring"}, []string{"cycling clubs", "bike maintenance", "mountain trips"},
		[]string{"active commuting", "sustainability"}, [4]float64{.15, .4, .35, .1},
		[]Activity{{"ride_logged", "road cycling"}, {"ride_logged", "gravel riding"}}, 3},
	{"active seniors", 0.7, []string{"walking groups", "tai chi", "gardening"}, []string{"balance training", "aqua aerobics", "community events"},
		[]string{"healthy ageing", "community wellbeing"}, [4]float64{.55, .4, .05, 0},
		[]Activity{{"walk_logged", "walking groups"}, {"class_completed", "tai chi"}}, 3},
	{"plant-based cooks", 0.6, []string{"plant-based cooking", "nutrition", "meal prep"}, []string{"healthy recipes", "farmers markets", "yoga"},
		[]string{"climate action", "animal welfare"}, [4]float64{.4, .4, .2, 0},
		[]Activity{{"recipe_saved", "plant-based cooking"}, {"workshop_attended", "nutrition"}}, 1.5},
	{"racket sports players", 0.7, []string{"padel", "tennis", "racket sports"}, []string{"leaderboards", "strength training", "mobility"},
		[]string{"inclusion in sport"}, [4]float64{.25, .4, .3, .05},
		[]Activity{{"match_played", "padel"}, {"match_played", "tennis"}}, 2},
	{"triathletes", 0.5, []string{"triathlon", "open water swimming", "road cycling"}, []string{"road running", "sports nutrition", "swimming"},
		[]string{"charity runs"}, [4]float64{.1, .3, .45, .15},
		[]Activity{{"swim_logged", "open water swimming"}, {"ride_logged", "road cycling"}, {"run_logged", "road running"}}, 5},
}

// synonyms are other ways members write an interest: the same thing in other words,
// which spelling rules cannot fold together but the membership's own co-occurrence can.
var synonyms = map[string][]string{
	"trail running": {"off-road running", "fell running"}, "ultramarathons": {"ultra running"},
	"indoor cycling": {"spinning", "studio cycling"}, "spin class": {"spin sessions"},
	"yoga": {"vinyasa", "hatha"}, "meditation": {"stillness practice"}, "ocean clean-ups": {"beach clean-ups", "shoreline litter picks"},
	"surfing": {"wave riding"}, "strength training": {"weightlifting", "resistance training"}, "powerlifting": {"barbell training"},
	"marathon training": {"distance running"}, "road running": {"pavement running"}, "postnatal fitness": {"mum and baby fitness"},
	"bouldering": {"indoor climbing"}, "rock climbing": {"crag climbing"}, "dance fitness": {"dance workouts"},
	"road cycling": {"road biking"}, "gravel riding": {"gravel biking"}, "walking groups": {"rambling"},
	"tai chi": {"taiji"}, "plant-based cooking": {"vegan cooking"}, "padel": {"padel tennis"}, "triathlon": {"multisport racing"},
}

// noise are interests any member may hold, whatever their persona.
var noise = []string{"podcasts", "travel", "photography", "coffee", "reading", "board games", "dogs", "live music", "cooking"}

var firstNames = []string{"Ana", "Erik", "Giulia", "Liam", "Sofia", "Marco", "Astrid", "Noah", "Elena", "Oskar",
	"Chiara", "Maja", "Luca", "Emma", "Nils", "Francesca", "Olivia", "Hugo", "Alessandro", "Freja", "Mia", "Leo"}
var locales = []struct {
	locale, tz string
	cities     []string // where members of this locale live (attributes.city)
}{
	{"en-GB", "Europe/London", []string{"London", "Manchester"}}, {"sv-SE", "Europe/Stockholm", []string{"Stockholm", "Gothenburg"}},
	{"it-IT", "Europe/Rome", []string{"Milan", "Turin"}}, {"en-US", "America/New_York", []string{"Boston", "New York"}},
}
var tiers = []string{"member", "silver", "gold"}

// Brand is a generated membership with the truth kept beside it.
type Brand struct {
	Members []members.Member
	Events  []members.Event
	// Persona[i] is the index into Personas of Members[i].
	Persona []int
}

// Config sizes a demo brand.
type Config struct {
	Members int
	Seed    uint64
	// Now is the end of the 90 days of events; today (UTC) when zero.
	Now time.Time
	// NoConsentShare is the fraction of members without personalization consent.
	NoConsentShare float64
	// Synonyms is the chance that a member writes an interest in other words
	// ("spinning" for "indoor cycling").
	Synonyms float64
}

// Generate builds a brand. Members are "m-00001"...; events "e-<member>-<n>".
func Generate(cfg Config) Brand {
	var b Brand
	_ = Stream(cfg, cfg.Members, func(part Brand) error {
		b = part
		return nil
	})
	return b
}

// Stream builds the brand Generate builds, batch members at a time (with their
// events), and hands each part to fn before making the next: memory holds one part,
// so a million members load on a small machine. It stops at fn's first error.
func Stream(cfg Config, batch int, fn func(Brand) error) error {
	if cfg.Now.IsZero() {
		cfg.Now = time.Now().UTC().Truncate(24 * time.Hour)
	}
	batch = max(batch, 1)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xbe1009))
	var total float64
	for _, p := range Personas {
		total += p.Weight
	}
	start := cfg.Now.Add(-90 * 24 * time.Hour)
	for first := 0; first < cfg.Members; first += batch {
		var out Brand
		for i := first; i < min(first+batch, cfg.Members); i++ {
			generateMember(&out, rng, total, start, i, cfg)
		}
		if err := fn(out); err != nil {
			return err
		}
	}
	return nil
}

// generateMember appends member i (0-based) and their events to out.
func generateMember(out *Brand, rng *rand.Rand, total float64, start time.Time, i int, cfg Config) {
	pi := pickWeighted(rng, total)
	p := Personas[pi]
	id := fmt.Sprintf("m-%05d", i+1)
	loc := locales[rng.IntN(len(locales))]
	joined := cfg.Now.Add(-time.Duration(rng.IntN(3*365)+30) * 24 * time.Hour).Truncate(24 * time.Hour).UTC()

	var interests []string
	for _, t := range p.Core {
		if rng.Float64() < 0.8 {
			interests = append(interests, t)
		}
	}
	for _, t := range p.Extra {
		if rng.Float64() < 0.3 {
			interests = append(interests, t)
		}
	}
	if len(interests) == 0 {
		interests = append(interests, p.Core[rng.IntN(len(p.Core))])
	}
	for i, t := range interests {
		if alt := synonyms[t]; len(alt) > 0 && cfg.Synonyms > 0 && rng.Float64() < cfg.Synonyms {
			interests[i] = alt[rng.IntN(len(alt))]
		}
	}
	for rng.Float64() < 0.35 {
		interests = append(interests, noise[rng.IntN(len(noise))])
	}
	var causes []string
	for _, c := range p.Causes {
		if rng.Float64() < 0.5 {
			causes = append(causes, c)
		}
	}
	m := members.Member{
		ID: id, Name: firstNames[rng.IntN(len(firstNames))], Locale: loc.locale, Timezone: loc.tz,
		JoinedAt: &joined, Interests: interests, Causes: causes, SkillLevel: pickSkill(rng, p.Skill),
		Attributes: map[string]any{"tier": tiers[rng.IntN(len(tiers))], "city": loc.cities[rng.IntN(len(loc.cities))]},
		Consent:    members.Consent{Personalization: rng.Float64() >= cfg.NoConsentShare, Community: rng.Float64() < 0.9},
	}
	if err := m.Normalize(); err != nil {
		panic(fmt.Sprintf("demo: generated an invalid member: %v", err)) // a bug in the generator
	}
	out.Members = append(out.Members, m)
	out.Persona = append(out.Persona, pi)

	// Events: a Poisson-ish count over 90 days around the persona's rate; some
	// members are quiet, some keen.
	keen := 0.3 + rng.Float64()*1.4
	nEvents := int(p.EventsPerWeek * keen * 90 / 7 * (0.5 + rng.Float64()))
	if rng.Float64() < 0.15 {
		nEvents = rng.IntN(3) // lapsed
	}
	for e := 0; e < nEvents; e++ {
		a := p.Activities[rng.IntN(len(p.Activities))]
		at := start.Add(time.Duration(rng.Int64N(int64(90 * 24 * time.Hour)))).Truncate(time.Minute).UTC()
		out.Events = append(out.Events, members.Event{
			ID: fmt.Sprintf("e-%s-%d", id, e+1), MemberID: id, Type: a.Type, At: at,
			Props: map[string]any{"category": a.Category, "minutes": 20 + rng.IntN(70)},
		})
	}
}

func pickWeighted(rng *rand.Rand, total float64) int {
	r := rng.Float64() * total
	for i, p := range Personas {
		r -= p.Weight
		if r <= 0 {
			return i
		}
	}
	return len(Personas) - 1
}

func pickSkill(rng *rand.Rand, probs [4]float64) string {
	r := rng.Float64()
	for i, p := range probs {
		r -= p
		if r <= 0 {
			return members.SkillLevels[i]
		}
	}
	return members.SkillLevels[0]
}
