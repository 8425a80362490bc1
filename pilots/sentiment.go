package pilots

import (
	"strings"
	"unicode"
)

// lexicon scores words of feedback in English, Swedish and Italian: positive words
// count +1, negative −1; a negator just before flips the next word.
var lexicon = map[string]float64{
	// en
	"love": 1, "loved": 1, "great": 1, "good": 1, "fun": 1, "amazing": 1, "enjoyed": 1, "friendly": 1, "welcoming": 1,
	"helpful": 1, "inspiring": 1, "happy": 1, "excellent": 1, "awesome": 1, "like": 0.5, "nice": 1,
	"bad": -1, "boring": -1, "hate": -1, "hated": -1, "awful": -1, "terrible": -1, "confusing": -1, "disappointed": -1,
	"disappointing": -1, "frustrating": -1, "rude": -1, "crowded": -0.5, "slow": -0.5, "expensive": -0.5, "poor": -1,
	// sv
	"älskar": 1, "älskade": 1, "bra": 1, "kul": 1, "roligt": 1, "härligt": 1, "fantastiskt": 1, "trevlig": 1, "trevligt": 1,
	"välkomnande": 1, "inspirerande": 1, "glad": 1, "toppen": 1,
	"dåligt": -1, "dålig": -1, "tråkigt": -1, "hatar": -1, "besviken": -1, "förvirrande": -1, "otrevlig": -1, "jobbigt": -1,
	// it
	"amo": 1, "adoro": 1, "bello": 1, "bella": 1, "ottimo": 1, "divertente": 1, "fantastico": 1, "gentile": 1, "accogliente": 1,
	"piaciuto": 1, "felice": 1, "stimolante": 1,
	"brutto": -1, "noioso": -1, "odio": -1, "pessimo": -1, "deluso": -1, "delusa": -1, "confuso": -1, "scortese": -1, "caro": -0.5,
}

var negators = map[string]bool{"not": true, "never": true, "no": true, "isn't": true, "wasn't": true, "don't": true,
	"inte": true, "aldrig": true, "ej": true, "non": true, "mai": true}

// Sentiment scores text from −1 (negative) to 1 (positive), 0 when it says nothing
// the lexicon knows.
func Sentiment(text string) float64 {
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool {
		return !unicode.IsLetter(r) && r != '\''
	})
	var score, hits float64
	flip := false
	for _, w := range words {
		if negators[w] {
			flip = true
			continue
		}
		if v, ok := lexicon[w]; ok {
			if flip {
				v = -v
			}
			score += v
			hits++
		}
		flip = false
	}
	if hits == 0 {
		return 0
	}
	s := score / hits
	return float64(int(s*100)) / 100
}
