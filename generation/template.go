package generation

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/belong-loyalty/belong/members"
)

// Template is the offline generator: reviewed sentence frames in the brand's voice,
// filled with a community's labels, with a few variants per kind chosen by subject.
// Deterministic and free; it speaks English, Swedish and Italian. Labels are members'
// own words, so in Swedish and Italian sentences they are marked as names (”yoga”,
// «yoga») rather than spliced in as if translated; frames avoid articles and
// agreement that would depend on a label, and carry no number that changes (sizes).
type Template struct{}

var _ Generator = Template{}

// Name implements Generator.
func (Template) Name() string { return "template" }

// PromptVersion implements Generator.
func (Template) PromptVersion() string { return "template-v3" }

type phrases struct {
	and                 string
	names               []string // %s: first label; %[2]s second
	openName            string
	describe            []string // %[1]s labels, %[2]d size
	identity            []string // %s: first label
	challengeTitle      []string // %s: first label
	narrative           []string // %[1]s labels, %[2]d days
	step                []string // per step number; %s: a label
	recognition         map[string][]string
	prompt              []string // %s: a label
	difficulty          map[string]string
	durationUnitDays    string
	recognitionFallback string
	badgeName           map[string][]string // by occasion; %s: first label
	badgeDescription    map[string]string   // by occasion; %[1]s community, %[2]s challenge title
	challengeFallback   string
	// quote marks a label as a name inside a sentence of another language: «yoga».
	quote [2]string
	// units translate a milestone's detail ("30 days"): singular and plural.
	units map[string][2]string
}

var localePhrases = map[string]phrases{
	"en": {
		and:      "and",
		names:    []string{"The %s Circle", "%s & %s", "%s Crew"},
		openName: "Open Circle",
		describe: []string{
			"A circle of people who share a love of %s. Come as you are, find your people, and grow together.",
			"People brought together by %s. Here every step counts and every voice is welcome.",
		},
		identity:       []string{"We show up for %s, and for each other.", "Together, %s feels like home."},
		challengeTitle: []string{"The %s Together Challenge", "%s: One Step More"},
		narrative: []string{
			"For the next %[2]d days, this circle takes on %[1]s side by side. Cheer each other on, share the small wins, and finish as one.",
			"%[2]d days, one circle, and a shared love of %[1]s. Move at your own pace; we go further together.",
		},
		step: []string{"Share why %s matters to you", "Try one %s session with someone from the circle",
			"Post a photo from your favourite %s moment", "Invite a friend to your next %s meet-up", "Celebrate the circle's progress together"},
		recognition: map[string][]string{
			"milestone":   {"%[1]s, %[3]s! Everyone in %[2]s is proud to share the road with you.", "What a moment, %[1]s: %[3]s. Everyone in %[2]s is cheering."},
			"streak":      {"%[1]s, %[3]s in a row! Your steady rhythm lifts everyone in %[2]s.", "%[3]s and counting, %[1]s. %[2]s keeps going because you do."},
			"anniversary": {"%[1]s, %[3]s with us! %[2]s is better because you are in it.", "%[1]s, %[3]s together. Thank you for being part of %[2]s."},
			"challenge":   {"%[1]s, you completed %[3]s! Everyone in %[2]s is proud of you.", "Challenge complete, %[1]s: %[3]s. Everyone in %[2]s is cheering."},
		},
		prompt:              []string{"What first drew you to %s?", "Which %s moment this week made you smile?", "What is one thing you would tell someone new to %s?"},
		difficulty:          map[string]string{"gentle": "gentle", "steady": "steady", "stretch": "a stretch", "summit": "summit"},
		durationUnitDays:    "days",
		recognitionFallback: "this moment",
		badgeName: map[string][]string{
			"milestone": {"%s Milestone", "%s Trailblazer"}, "streak": {"%s Streak Keeper", "Steady %s"},
			"anniversary": {"%s Anniversary", "%s Together"}, "challenge": {"%s Challenge Finisher", "%s Finisher"},
		},
		badgeDescription: map[string]string{
			"milestone":   "Earned by reaching a milestone with %[1]s: every step counted, and the circle noticed.",
			"streak":      "Earned by keeping a steady rhythm with %[1]s, day after day.",
			"anniversary": "Earned by another year of belonging to %[1]s.",
			"challenge":   "Earned by completing %[2]s with %[1]s.",
		},
		challengeFallback: "the challenge",
		units:             map[string][2]string{"day": {"day", "days"}, "week": {"week", "weeks"}, "year": {"year", "years"}},
	},
	"sv": {
		and:      "och",
		names:    []string{"Cirkeln %s", "%s & %s", "Gänget %s"},
		openName: "Öppna cirkeln",
		describe: []string{
			"En cirkel för alla som delar kärleken till %s. Kom som du är, hitta ditt gäng och väx tillsammans.",
			"Människor som förenas av %s. Här räknas varje steg och alla röster är välkomna.",
		},
		identity:       []string{"Vi ställer upp för %s, och för varandra.", "Tillsammans känns %s som hemma."},
		challengeTitle: []string{"Utmaningen %s tillsammans", "%s: ett steg till"},
		narrative: []string{
			"Under de kommande %[2]d dagarna tar den här cirkeln sig an %[1]s sida vid sida. Peppa varandra, dela de små segrarna och gå i mål tillsammans.",
			"%[2]d dagar, en cirkel och en gemensam kärlek till %[1]s. Gå i din egen takt; tillsammans kommer vi längre.",
		},
		step: []string{"Berätta varför %s betyder något för dig", "Testa ett pass %s med någon från cirkeln",
			"Dela en bild från ditt bästa ögonblick med %s", "Bjud med en vän till nästa träff med %s", "Fira cirkelns framsteg tillsammans"},
		recognition: map[string][]string{
			"milestone":   {"%[1]s, %[3]s! Alla i %[2]s är stolta över att dela vägen med dig.", "Vilket ögonblick, %[1]s: %[3]s. Alla i %[2]s hejar på dig."},
			"streak":      {"%[1]s, %[3]s i rad! Din rytm lyfter alla i %[2]s.", "%[3]s och fler, %[1]s. Alla i %[2]s fortsätter för att du gör det."},
			"anniversary": {"Grattis, %[1]s: %[3]s med oss! Alla i %[2]s är glada att du är med.", "%[1]s, %[3]s tillsammans. Tack för att du är en del av %[2]s."},
			"challenge":   {"%[1]s, du klarade %[3]s! Alla i %[2]s är stolta över dig.", "Utmaningen avklarad, %[1]s: %[3]s. Alla i %[2]s hejar på dig."},
		},
		prompt:              []string{"Vad fick dig att börja med %s?", "Vilket ögonblick med %s fick dig att le den här veckan?", "Vad skulle du säga till någon som är ny på %s?"},
		difficulty:          map[string]string{"gentle": "lugn", "steady": "stadig", "stretch": "utmanande", "summit": "topp"},
		durationUnitDays:    "dagar",
		recognitionFallback: "det här ögonblicket",
		badgeName: map[string][]string{
			"milestone": {"Milstolpe: %s"}, "streak": {"Obruten svit: %s"}, "anniversary": {"Årsdag: %s"}, "challenge": {"Fullföljd: %s"},
		},
		badgeDescription: map[string]string{
			"milestone":   "För en milstolpe tillsammans med %[1]s: varje steg räknades, och cirkeln såg det.",
			"streak":      "För en stadig rytm med %[1]s, dag efter dag.",
			"anniversary": "För ännu ett år i %[1]s.",
			"challenge":   "För att ha fullföljt %[2]s med %[1]s.",
		},
		challengeFallback: "utmaningen",
		quote:             [2]string{"”", "”"},
		units:             map[string][2]string{"day": {"dag", "dagar"}, "week": {"vecka", "veckor"}, "year": {"år", "år"}},
	},
	"it": {
		and:      "e",
		names:    []string{"Il cerchio %s", "%s & %s", "La squadra %s"},
		openName: "Cerchio aperto",
		describe: []string{
			"Un cerchio di persone che condividono la passione per %s. Vieni come sei, trova la tua gente e cresci insieme.",
			"Persone unite da %s. Qui ogni passo conta e ogni voce è benvenuta.",
		},
		identity:       []string{"Ci siamo per %s, e gli uni per gli altri.", "Insieme, %s è casa."},
		challengeTitle: []string{"La sfida %s insieme", "%s: un passo in più"},
		narrative: []string{
			"Per i prossimi %[2]d giorni questo cerchio affronta %[1]s fianco a fianco. Fate il tifo gli uni per gli altri, condividete le piccole vittorie e arrivate insieme.",
			"%[2]d giorni, un cerchio e la passione comune per %[1]s. Vai al tuo ritmo; insieme si arriva più lontano.",
		},
		step: []string{"Racconta perché %s conta per te", "Prova una sessione di %s con qualcuno del cerchio",
			"Condividi una foto del tuo momento preferito con %s", "Invita un amico a un incontro di %s", "Festeggiate insieme i progressi del cerchio"},
		recognition: map[string][]string{
			"milestone":   {"%[1]s, %[3]s! Tutti in %[2]s sono fieri di fare la strada con te.", "Che momento, %[1]s: %[3]s. Tutti in %[2]s fanno il tifo per te."},
			"streak":      {"%[1]s, %[3]s di fila! Il tuo ritmo dà energia a tutti in %[2]s.", "%[3]s e non ti fermi, %[1]s. Tutti in %[2]s vanno avanti perché ci sei tu."},
			"anniversary": {"Auguri, %[1]s: %[3]s con noi! Tutti in %[2]s sono felici che tu ci sia.", "%[1]s, %[3]s insieme. Grazie di far parte di %[2]s."},
			"challenge":   {"%[1]s, hai completato %[3]s! Tutti in %[2]s sono fieri di te.", "Sfida completata, %[1]s: %[3]s. Tutti in %[2]s fanno il tifo per te."},
		},
		prompt:              []string{"Cosa ti ha avvicinato a %s?", "Quale momento di %s ti ha fatto sorridere questa settimana?", "Cosa diresti a chi inizia ora con %s?"},
		difficulty:          map[string]string{"gentle": "leggera", "steady": "costante", "stretch": "impegnativa", "summit": "vetta"},
		durationUnitDays:    "giorni",
		recognitionFallback: "questo momento",
		badgeName: map[string][]string{
			"milestone": {"Traguardo: %s"}, "streak": {"Costanza: %s"}, "anniversary": {"Anniversario: %s"}, "challenge": {"Sfida completata: %s"},
		},
		badgeDescription: map[string]string{
			"milestone":   "Per un traguardo raggiunto con %[1]s: ogni passo contava, e il cerchio lo ha visto.",
			"streak":      "Per un ritmo costante con %[1]s, giorno dopo giorno.",
			"anniversary": "Per un altro anno insieme a %[1]s.",
			"challenge":   "Per aver completato %[2]s con %[1]s.",
		},
		challengeFallback: "la sfida",
		quote:             [2]string{"«", "»"},
		units:             map[string][2]string{"day": {"giorno", "giorni"}, "week": {"settimana", "settimane"}, "year": {"anno", "anni"}},
	},
}

// Generate implements Generator.
func (Template) Generate(_ context.Context, r Request) (Body, error) {
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("template generator: %w", err)
	}
	p := localePhrases[members.Language(r.Locale)]
	c := r.Community
	// Labels are members' own words, usually English: in another language's sentence
	// they are marked as names (p.quote), never spliced in as if translated.
	labels := make([]string, len(c.Labels))
	for i, l := range c.Labels {
		labels[i] = p.quoted(l)
	}
	first, bare := "community", "community"
	if len(c.Labels) > 0 {
		first, bare = labels[0], c.Labels[0]
	}
	pick := func(list []string, extra ...string) string {
		return list[variant(len(list), append([]string{c.ID, r.Kind}, extra...)...)]
	}
	name := c.Name
	if name != "" && !strings.ContainsAny(name, "”«") {
		name = p.quoted(name)
	}
	switch r.Kind {
	case KindCommunityProfile:
		if len(labels) == 0 {
			name = p.openName
		} else {
			// The last label is the one that tells a community from its siblings
			// (clustering.Label adds it last when two would read alike), so names
			// carry it too: two communities of a run never share their labels.
			frame := pick(p.names)
			last := c.Labels[len(c.Labels)-1]
			switch {
			case strings.Count(frame, "%s") == 2 && len(labels) > 1:
				name = fmt.Sprintf(frame, title(bare), title(last))
			case strings.Count(frame, "%s") == 2:
				name = title(bare)
			case len(labels) > 1:
				name = fmt.Sprintf(frame, p.quoted(title(bare))) + " · " + title(last)
			default:
				name = fmt.Sprintf(frame, p.quoted(title(bare)))
			}
			// A place reads the same in every language: communities alike in
			// interests but in different cities are named apart.
			if place := placeOf(c.Facets); place != "" && !strings.Contains(name, place) {
				name += " · " + place
			}
		}
		return Body{
			"name":          name,
			"description":   fmt.Sprintf(pick(p.describe), joinList(labels, p.and)),
			"identity_line": fmt.Sprintf(pick(p.identity), first),
		}, nil
	case KindChallenge:
		level, days, n := Difficulty(c.SkillMix)
		steps := make([]string, n)
		for i := range steps {
			label := first
			if len(labels) > 0 {
				label = labels[i%len(labels)]
			}
			if strings.Contains(p.step[i], "%s") {
				steps[i] = fmt.Sprintf(p.step[i], label)
			} else {
				steps[i] = p.step[i]
			}
		}
		return Body{
			"title":         fmt.Sprintf(pick(p.challengeTitle), p.quoted(title(bare))),
			"narrative":     fmt.Sprintf(pick(p.narrative), joinList(labels, p.and), days),
			"steps":         steps,
			"duration_days": days,
			"difficulty":    p.difficulty[level],
		}, nil
	case KindRecognition:
		if name == "" {
			name = title(first)
		}
		detail := p.detail(r.Detail)
		if detail == "" {
			detail = p.recognitionFallback
		}
		return Body{
			"message":  fmt.Sprintf(pick(p.recognition[r.Occasion], r.Occasion, r.FirstName), r.FirstName, name, detail),
			"occasion": r.Occasion,
		}, nil
	case KindBadge:
		if name == "" {
			name = title(first)
		}
		detail := r.Detail
		if detail == "" {
			detail = p.challengeFallback
		}
		return Body{
			"name":        fmt.Sprintf(pick(p.badgeName[r.Occasion], r.Occasion), p.quoted(title(bare))),
			"description": fmt.Sprintf(p.badgeDescription[r.Occasion], name, detail),
			"emblem":      pick(Emblems, r.Occasion),
			"symbol":      badgeSymbol(r.Occasion, c.Labels),
		}, nil
	default: // KindCommunityPrompt
		return Body{"prompt": fmt.Sprintf(pick(p.prompt), first)}, nil
	}
}

// symbolWords pick a milestone badge's symbol from its community's interests.
var symbolWords = []struct{ symbol, words string }{
	{"mountain", "run hike trail climb mountain walk outdoor trek"},
	{"wave", "swim surf sail water row paddle dive ocean"},
	{"leaf", "yoga garden plant nature eco green sustain mindful vegan"},
	{"bolt", "cycl spin hiit strength crossfit sprint power gym"},
}

// badgeSymbol is what a badge of occasion shows: a trophy for a challenge, a flame
// for a streak, a heart for an anniversary, and for a milestone the first of the
// community's interests that has a symbol (else a star).
func badgeSymbol(occasion string, labels []string) string {
	switch occasion {
	case "challenge":
		return "trophy"
	case "streak":
		return "flame"
	case "anniversary":
		return "heart"
	}
	for _, l := range labels {
		l = strings.ToLower(l)
		for _, sw := range symbolWords {
			for _, w := range strings.Fields(sw.words) {
				if strings.Contains(l, w) {
					return sw.symbol
				}
			}
		}
	}
	return "star"
}

// quoted marks s as a name in the locale's sentences (English needs no marks).
func (p phrases) quoted(s string) string {
	if p.quote[0] == "" {
		return s
	}
	return p.quote[0] + s + p.quote[1]
}

var (
	unitDetail  = regexp.MustCompile(`^(\d+) (day|week|year)s?$`)
	countDetail = regexp.MustCompile(`^(\d+) × (.+)$`)
)

// detail says a milestone's detail (written in English by package moments: "30
// days", "2 years", "100 × class") in the locale: units translated, the event named.
func (p phrases) detail(d string) string {
	if m := unitDetail.FindStringSubmatch(d); m != nil {
		forms := p.units[m[2]]
		if m[1] == "1" {
			return m[1] + " " + forms[0]
		}
		return m[1] + " " + forms[1]
	}
	if m := countDetail.FindStringSubmatch(d); m != nil {
		return m[1] + " × " + p.quoted(m[2])
	}
	return d
}

// placeOf is the place facet's label among facets (an attributes.KEY facet), or "".
func placeOf(facets map[string]string) string {
	keys := make([]string, 0, len(facets))
	for k := range facets {
		if strings.HasPrefix(k, "attributes.") {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return ""
	}
	slices.Sort(keys)
	return facets[keys[0]]
}
