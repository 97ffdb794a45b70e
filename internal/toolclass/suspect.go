package toolclass

import "strings"

// The force-suspect band: harm signals that are not enough for a force
// score but are enough to hold the call (see the package doc, "Force
// suspects"). The rules look at words in context: a harm verb counts by
// what it acts on (see harmTier), a harm adjective is disarmed by a
// civilian noun after it ("lethal dose", "hostile takeover"), any other
// action on a hostile object is suspect ("splash the bandit"), and every
// signal is disarmed by a tool that reads ("attack_surface_report",
// "get_strike_history", "enemy_position_report"). The vocabulary is in
// suspectwords.go.

// harmAdjectives count unless a civilian noun follows ("lethal dose").
var harmAdjectives = words(`lethal kinetic explosive armed hostile weaponized
	weaponised`)

// harmPhrases count unless a civilian noun follows; those in
// contextPhrases count only when the tool also names a weapon or a harm
// object ("acquire lock on the track", not a mutex's "acquire lock").
var harmPhrases = phraseIndex(append([][]string{
	{"weapons", "free"}, {"weapon", "free"}, {"terminal", "guidance"},
	{"loiter"}, {"loitering"}, {"loiters"}, {"payload", "release"},
	{"release", "payload"}, {"release", "the", "payload"}, {"drop", "payload"},
	{"hard", "kill"}, {"electronic", "attack"}, {"return", "fire"},
	{"counter", "battery"}, {"acquire", "lock"}, {"lock", "on"},
	{"target", "lock"}, {"weapons", "tight"},
}, forceCommandPhrases...))

var contextPhrases = words(`acquire lock`)

// civilianObjects, after a harm verb, adjective or phrase, make it
// civilian: "kill_process", "fire_alarm", "lethal_dose". The list is long
// because everyday software, business and household words are the
// objects of the same verbs.
var civilianObjects = words(`process processes proc pid job jobs task tasks
	thread threads worker workers query queries session sessions container
	containers pod pods instance instances vm vms machine machines server
	servers service services app apps application applications browser tab
	tabs window windows page pages cache caches build builds pipeline
	pipelines test tests suite request requests http https api endpoint
	endpoints webhook webhooks hook hooks event events trigger triggers rule
	rules alert alerts alarm alarms notification notifications notify
	message messages email emails mail sms text texts file files folder
	folders directory directories record records row rows
	table tables database databases db duplicate duplicates whitespace dupes
	mutex semaphore key keys token tokens cookie cookies connection
	connections socket sockets port ports surface usage memory cpu disk
	disks upgrade upgrades quote quotes summary summaries report reports
	rate rates ratio ratios stats statistics status score scores count counts
	playlist playlists song songs music customer customers user users
	lead leads employee employees account accounts audience audiences
	campaign campaigns ad ads feature features release releases version
	versions branch branches commit commits deployment deployments photo
	photos video videos picture pictures image images timelapse match
	matches ticket tickets company companies through off ph acid acids
	solution solutions odor odors odour instructions patient patients
	drill drills autopilot cruise control brake brakes clutch gear gears
	note notes habit habits bug bugs issue
	issues sequence sequences workflow workflows flow flows cron schedule
	plan plans order orders payment payments invoice invoices
	subscription subscriptions lock locks spinner loader animation
	animations effect transition transitions script scripts command
	commands shell terminal console macro macros listener listeners
	callback callbacks handler handlers queue queues batch batches
	experiment experiments pipe pipes loop docker
	market markets price prices stock stocks deal deals offer offers
	takeover takeovers growth dose doses energy limits limit forces
	phishing malware spam tumor tumour cell cells bacteria weeds
	weed pest pests germs germ virus viruses stain stains odour allergen
	noise echo feedback glare risk risks typography sculpture art sand toy
	toys switch switches flag flags stack stacks resource resources bucket buckets
	volume volumes namespace namespaces`)

// stopWords are skipped when looking for the object after a verb.
var stopWords = words(`a an the this that these those all any my your our
	their its his her given selected specified current one each every some
	to at on in into of with for from by up down out and or then`)

// determiners are skipped when reading the object of a verb; the other
// stop words (prepositions, conjunctions) end it.
var determiners = words(`a an the this that these those all any my your our
	their its his her given selected specified current one each every some
	up down out over off`)

// verbPrepositions may stand between a verb and its object.
var verbPrepositions = words(`in on at onto upon with`)

// clauseWords end a noun phrase.
var clauseWords = words(`that which who whom whose if when whenever before
	after until while once is are was were be`)

// proseVerbAfter are the words after which a description's verb stands.
var proseVerbAfter = words(`and then or to will shall must can may should
	would also`)

// harmVerb is one surface form of a harm verb.
type harmVerb struct {
	base string
	tier harmTier
	past bool // a past form: a report of force, not force
}

// harmLex and phrasalHarmLex map the surface forms of the harm verbs of
// harmVerbTiers and phrasalHarmVerbs; harmlessForms those of
// harmlessVerbs.
var harmLex, phrasalHarmLex, harmlessForms = buildHarmLex()

func buildHarmLex() (map[string]harmVerb, map[[2]string]harmVerb, map[string]bool) {
	single := map[string]harmVerb{}
	phrasal := map[[2]string]harmVerb{}
	for _, tier := range []harmTier{tierAny, tierHostile, tierPhysical, tierPerson, tierWeapon} {
		for v := range words(harmVerbTiers[tier]) {
			for _, f := range verbForms(v) {
				if _, ok := single[f.form]; !ok {
					single[f.form] = harmVerb{v, tier, f.past}
				}
			}
		}
		for _, p := range phrasalHarmVerbs[tier] {
			for _, f := range verbForms(p[0]) {
				phrasal[[2]string{f.form, p[1]}] = harmVerb{p[0] + " " + p[1], tier, f.past}
			}
			for past, v := range irregularHarmPast {
				if v == p[0] {
					phrasal[[2]string{past, p[1]}] = harmVerb{p[0] + " " + p[1], tier, true}
				}
			}
		}
	}
	for past, v := range irregularHarmPast {
		if h, ok := single[v]; ok {
			single[past] = harmVerb{v, h.tier, true}
		}
	}
	harmless := map[string]bool{}
	for v := range harmlessVerbs {
		for _, f := range verbForms(v) {
			harmless[f.form] = true
		}
	}
	return single, phrasal, harmless
}

// harmVerbAt returns the harm verb at toks[i] and the index after it (after
// its particle, for a phrasal verb).
func harmVerbAt(toks []string, i int) (harmVerb, int, bool) {
	if i+1 < len(toks) {
		if h, ok := phrasalHarmLex[[2]string{toks[i], toks[i+1]}]; ok {
			return h, i + 2, true
		}
	}
	h, ok := harmLex[toks[i]]
	return h, i + 1, ok
}

// suspectEvidence returns the first harm signal in fields that is not
// disarmed, and whether there is one.
func suspectEvidence(fields []field) (evidence, bool) {
	ctx, objects := forceContext(fields)
	// The vocabulary first, so that the reason names the harm word; then
	// any action on a hostile object.
	for _, generic := range []bool{false, true} {
		for _, f := range fields {
			for i, tok := range f.toks {
				if !generic {
					if ev, ok := phraseSignal(f, i, ctx || objects); ok {
						return ev, true
					}
					if harmAdjectives[tok] && !civilianAfter(f, i) {
						return evidence{tok, f.where, 0}, true
					}
				}
				if ev, ok := verbSignal(f, i, ctx, generic); ok {
					return ev, true
				}
			}
		}
	}
	return payloadEvidence(fields, ctx)
}

// phraseSignal reports whether a harm phrase starts at f.toks[i] with no
// civilian object after it; a phrase of contextPhrases counts only when
// the tool names a weapon, a hostile or a harm object (objects).
func phraseSignal(f field, i int, objects bool) (evidence, bool) {
	p := matchPhrase(f.toks, i, harmPhrases)
	if p == "" || (contextPhrases[p] && !objects) {
		return evidence{}, false
	}
	if civilianAfter(f, i+strings.Count(p, " ")) {
		return evidence{}, false
	}
	return evidence{p, f.where, 0}, true
}

// readGoverns reports whether a read word governs a tool's name, so that
// the tool reads about force and holds no harm signal: a read verb leads
// the name ("get_strike_history") or a report noun ends it
// ("attack_surface_report", "enemy_position_status"). A read word
// elsewhere does not govern: "interdict_route" acts on a route.
func readGoverns(name []string) bool {
	if len(name) == 0 {
		return false
	}
	if e := lexicon[name[0]]; e != nil && e.read && name[0] == e.base && e.verb == 0 {
		return true
	}
	return reportNouns[name[len(name)-1]]
}

// verbSignal reports whether the word at f.toks[i] is a verb that acts on
// something it may harm: a harm verb on what its tier needs, or any other
// action on a hostile object or a weapon, or, in a force context, on a
// target, a person or a vehicle. Reads, reports and past forms do not
// count.
//
// With generic false, only harm verbs count; with generic true, only
// other verbs.
func verbSignal(f field, i int, ctx, generic bool) (evidence, bool) {
	tok := f.toks[i]
	if f.kind != fieldName && f.where.what != "schema enum" && !proseVerb(f.toks, i) {
		return evidence{}, false // "the attack rate", "a strike on goal": a noun, most likely
	}
	if h, next, ok := harmVerbAt(f.toks, i); ok {
		if h.past || generic {
			return evidence{}, false
		}
		tier := h.tier
		if tier == tierAny && f.kind == fieldSchema {
			// An enum value "KILL" is a signal name; "fire_missile" is
			// caught by the force score.
			tier = tierPhysical
		}
		if tier == tierAny {
			if civilianAfter(f, next-1) {
				return evidence{}, false
			}
			return evidence{tok, f.where, 0}, true
		}
		if _, to, kind, _ := objectOf(f, next); tier.countsOn(kind, ctx) {
			return evidence{strings.Join(f.toks[i:to], " "), f.where, 0}, true
		}
		return evidence{}, false
	}
	if !generic || f.where.what == "schema property" || !actionVerb(f, i) {
		return evidence{}, false
	}
	if _, to, kind, friendly := objectOf(f, i+1); !friendly && genericCounts(kind, ctx) {
		return evidence{strings.Join(f.toks[i:to], " "), f.where, 0}, true
	}
	return evidence{}, false
}

// countsOn reports whether a harm verb of tier t, acting on an object of
// kind k, is a harm signal. A target ("target", "track", "contact") is
// hostile only in a force context: "service the target" is systemd's.
func (t harmTier) countsOn(k objKind, ctx bool) bool {
	if k == objTarget && !ctx {
		return false
	}
	switch t {
	case tierHostile:
		return k >= objTarget
	case tierPhysical:
		return k >= objPhysical
	case tierPerson:
		return k == objPerson || k == objTarget || k == objHostile
	case tierWeapon:
		return k == objWeapon || k == objHostile
	}
	return false
}

// genericCounts reports whether an action verb that is not a harm verb,
// acting on an object of kind k, is a harm signal: on a hostile object or
// a weapon always ("splash the bandit", "uncage the missile"), on a
// target, person or vehicle in a force context.
func genericCounts(k objKind, ctx bool) bool {
	return k >= objHostile || (k >= objPhysical && ctx)
}

// actionVerb reports whether f.toks[i] may be a verb that acts: a word
// that is not a read, report or protective word, an object, an adjective
// of harm, a past form or a stop word. In a name, it is the first such
// word, a known verb, or a word after "and", "then", "to" or "or"; the
// classifier fails closed on verbs it does not know ("splash_bandit").
func actionVerb(f field, i int) bool {
	tok := f.toks[i]
	if len(tok) < 2 || harmlessForms[tok] || stopWords[tok] || determiners[tok] ||
		kindOf(tok) != objNone || harmAdjectives[tok] || militaryWords[tok] ||
		namePrefixes[tok] || strings.HasSuffix(tok, "ed") || tok[0] >= '0' && tok[0] <= '9' {
		return false
	}
	e := lexicon[tok]
	if e != nil && (e.read || e.sim || e.neg || e.past) {
		return false
	}
	if f.kind != fieldName && f.where.what != "schema enum" {
		return true // proseVerb placed it
	}
	if e != nil && (e.change > 0 || e.verb > 0) {
		return true
	}
	for j := i - 1; j >= 0; j-- {
		prev := f.toks[j]
		switch {
		case proseVerbAfter[prev]:
			return true
		case actionVerb(f, j):
			return false // an earlier word is the verb
		}
	}
	return true
}

// proseVerb reports whether toks[i] is where a description's verb stands:
// first in the sentence; after "and", "then", "or", "to" or a modal; or
// after a subject of determiners, objects and adjectives ("the armed USV
// rams the skiff").
func proseVerb(toks []string, i int) bool {
	if i == 0 || proseVerbAfter[toks[i-1]] {
		return true
	}
	for _, w := range toks[:i] {
		if !determiners[w] && kindOf(w) == objNone && !harmAdjectives[w] && !militaryWords[w] {
			return false
		}
	}
	return true
}

// kindOf returns the kind of object tok names.
func kindOf(tok string) objKind {
	switch {
	case hostileObjects[tok]:
		return objHostile
	case lessLethal[tok]:
		return objWeapon
	}
	e := lexicon[tok]
	switch {
	case e != nil && e.noun >= 0.5:
		return objWeapon // "missile", and the acts "salvo", "airstrike"
	case targetObjects[tok], e != nil && e.obj && e.noun > 0:
		return objTarget
	case personObjects[tok]:
		return objPerson
	case physicalObjects[tok]:
		return objPhysical
	}
	return objNone
}

// objectOf reads the noun phrase that starts at f.toks[start], up to
// three words after determiners, and returns its bounds (f.toks[from:to]),
// its kind, and whether a friendly word modifies it ("the resupply
// convoy"). The head (last word) decides: a civilian or read word
// anywhere makes it no object ("the enemy position report", "target
// audience"); a head of no kind makes it no object unless a hostile word
// or a weapon phrase modifies it ("the enemy radio", "a high power
// microwave burst", but not "the bomb squad"); otherwise the most hostile
// word decides ("the hostile drone"). The phrase ends at a preposition, a
// conjunction, a relative clause or a participle ("the truck parked by
// the wall").
func objectOf(f field, start int) (from, to int, kind objKind, friendly bool) {
	var best, head objKind
	var phraseWeapon bool
	from, to, n := -1, -1, 0
	none := func() (int, int, objKind, bool) { return 0, 0, objNone, false }
	// "zero in on the bandit", "close with the enemy": prepositions
	// right after the verb lead to its object.
	for start < len(f.toks) && verbPrepositions[f.toks[start]] {
		start++
	}
	for j := start; j < len(f.toks) && n < 3; j++ {
		tok := f.toks[j]
		if determiners[tok] {
			continue
		}
		if stopWords[tok] || clauseWords[tok] || (n > 0 && strings.HasSuffix(tok, "ed")) {
			break // "the truck parked by the wall", "the boat that approaches"
		}
		if from < 0 {
			from = j
		}
		n++
		if p := matchPhrase(f.toks, j, weaponPhrases); p != "" {
			// A weapon named by a phrase stays one as a modifier: "a high
			// power microwave burst".
			j += strings.Count(p, " ")
			best, head, to = objWeapon, objWeapon, j
			phraseWeapon = true
			continue
		}
		if civilianObjects[tok] || civilianHeads[tok] {
			return none() // "target audience"
		}
		if friendlyWords[tok] {
			friendly = true
		}
		if e := lexicon[tok]; e != nil && e.read {
			return none()
		}
		head, to = kindOf(tok), j
		best = max(best, head)
	}
	if from < 0 || to < 0 || (head == objNone && best != objHostile && !phraseWeapon) {
		return none()
	}
	return from, to + 1, best, friendly
}

// forceContext reports whether the tool names a weapon, a hostile object,
// an adjective of harm or a military word anywhere (ctx), and whether it
// names a target, person or vehicle (objects).
func forceContext(fields []field) (ctx, objects bool) {
	for _, f := range fields {
		for i, tok := range f.toks {
			switch k := kindOf(tok); {
			case k >= objHostile, harmAdjectives[tok], militaryWords[tok],
				matchPhrase(f.toks, i, weaponPhrases) != "":
				ctx = true
			case k != objNone:
				objects = true
			}
			if e := lexicon[tok]; e != nil && e.noun >= 0.5 {
				ctx = true // "lethal", "kinetic"
			}
		}
	}
	return ctx, objects
}

// payloadEvidence returns a payload release on a platform that carries
// weapons: an actuator (servo, relay, gripper, hook) in a tool that names
// a weapon, or that releases or drops something in a force context ("set
// servo 9, which drives the bomb hook"). A servo with neither stays
// consequential.
func payloadEvidence(fields []field, ctx bool) (evidence, bool) {
	var act evidence
	weapon, release := false, false
	for _, f := range fields {
		for _, tok := range f.toks {
			if actuators[tok] && act.text == "" {
				act = evidence{tok, f.where, 0}
			}
			release = release || releaseWords[tok]
			weapon = weapon || kindOf(tok) == objWeapon
		}
	}
	if act.text != "" && (weapon || (release && ctx)) {
		act.text += " (payload release)"
		return act, true
	}
	return evidence{}, false
}

// objectAfter returns the words after f.toks[i] that may be its object,
// skipping stop words: two in a name, three in prose ("kill a running
// Docker container").
func objectAfter(f field, i int) []string {
	n := 3
	if f.kind == fieldName {
		n = 2
	}
	var out []string
	for j := i + 1; j < len(f.toks) && len(out) < n; j++ {
		if !stopWords[f.toks[j]] {
			out = append(out, f.toks[j])
		}
	}
	return out
}

// civilianAfter reports whether a civilian object follows f.toks[i].
func civilianAfter(f field, i int) bool {
	for _, w := range objectAfter(f, i) {
		if civilianObjects[w] || civilianHeads[w] {
			return true
		}
	}
	return false
}
