package toolclass

// The force-suspect band: harm signals that are not enough for a force
// score but are enough to hold the call (see the package doc, "Force
// suspects"). The rules look at words in context: a harm verb is disarmed
// by a civilian object after it ("kill_process", "ram_usage"), a harm
// adjective by a civilian noun after it ("lethal dose", "hostile
// takeover"), and every signal by a tool that reads ("attack_surface_report",
// "get_strike_history").

// harmVerbs are verbs of harm that count on their own, unless a civilian
// object follows.
var harmVerbs = words(`attack neutralize neutralise kill destroy ram discharge
	detonate strike shoot engage eliminate jam intercept fire`)

// objectHarmVerbs count only when what follows is a weapon, or, for those
// marked true, a harm object ("disable the vehicle", "launch the missile"):
// disabling and launching are everyday words otherwise ("launch_drone" is
// a take-off).
var objectHarmVerbs = map[string]bool{"disable": true, "launch": false}

// harmForms maps the surface forms of harmVerbs and objectHarmVerbs to
// their base forms; past forms map to "", since reports of force are not
// force ("whether the interceptor was fired").
var harmForms = buildHarmForms()

func buildHarmForms() map[string]string {
	m := map[string]string{}
	add := func(v string) {
		for _, f := range verbForms(v) {
			if f.past {
				m[f.form] = ""
			} else {
				m[f.form] = v
			}
		}
	}
	for v := range harmVerbs {
		add(v)
	}
	for v := range objectHarmVerbs {
		add(v)
	}
	for past, v := range irregularPast {
		if harmVerbs[v] {
			m[past] = ""
		}
	}
	return m
}

// harmAdjectives count unless a civilian noun follows ("lethal dose").
var harmAdjectives = words(`lethal kinetic explosive armed hostile weaponized
	weaponised`)

// harmPhrases count unless a civilian noun follows; those in
// contextPhrases count only when the tool also names a weapon or a harm
// object ("acquire lock on the track", not a mutex's "acquire lock").
var harmPhrases = phraseIndex([][]string{
	{"weapons", "free"}, {"weapon", "free"}, {"terminal", "guidance"},
	{"loiter"}, {"loitering"}, {"loiters"}, {"payload", "release"},
	{"release", "payload"}, {"release", "the", "payload"}, {"drop", "payload"},
	{"hard", "kill"}, {"electronic", "attack"}, {"return", "fire"},
	{"counter", "battery"}, {"acquire", "lock"}, {"lock", "on"},
	{"target", "lock"}, {"weapons", "tight"},
})

var contextPhrases = words(`acquire lock`)

// harmObjects are what force is applied to: people, vehicles, positions,
// and military words for them.
var harmObjects = words(`person people persons human humans subject subjects
	individual individuals intruder intruders occupant occupants crowd crowds
	combatant combatants personnel troops troop soldier soldiers fighter
	fighters insurgent insurgents militant militants vehicle vehicles truck
	trucks tank tanks convoy convoys boat boats vessel vessels ship ships
	aircraft helicopter helicopters jet jets submarine submarines bunker
	bunkers compound compounds position positions emplacement emplacements
	target targets track tracks threat threats enemy enemies hostile hostiles
	bandit bandits contact contacts radar radars launcher launchers engine
	engines drone drones uav uavs uas swarm swarms`)

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
	folders directory directories record records row rows column columns
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
	noise echo feedback glare risk risks`)

// stopWords are skipped when looking for the object after a verb.
var stopWords = words(`a an the this that these those all any my your our
	their its his her given selected specified current one each every some
	to at on in into of with for from by up down out and or then`)

// suspectEvidence returns the first harm signal in fields that is not
// disarmed, and whether there is one. weapon reports whether the tool
// names a weapon or a harm object anywhere, for contextPhrases.
func suspectEvidence(fields []field) (evidence, bool) {
	weapon := false
	for _, f := range fields {
		for _, tok := range f.toks {
			if e := lexicon[tok]; harmObjects[tok] || (e != nil && e.noun >= 0.5) {
				weapon = true
			}
		}
	}
	for _, f := range fields {
		for i, tok := range f.toks {
			if p := matchPhrase(f.toks, i, harmPhrases); p != "" {
				n := len(harmPhrases[tok][0])
				for _, q := range harmPhrases[tok] {
					if joinWords(q) == p {
						n = len(q)
					}
				}
				if contextPhrases[p] && !weapon {
					continue
				}
				if !civilianAfter(f, i+n-1) {
					return evidence{p, f.where, 0}, true
				}
			}
			if harmAdjectives[tok] && !civilianAfter(f, i) {
				return evidence{tok, f.where, 0}, true
			}
			base := harmForms[tok]
			if base == "" {
				continue
			}
			if f.kind == fieldDesc && !leadVerb(f.toks, i) {
				continue // "the attack rate", "a strike on goal": a noun, most likely
			}
			people, conditional := objectHarmVerbs[base]
			if f.kind == fieldSchema {
				// An enum value "KILL" is a signal name; "fire_missile" is
				// caught by the force score.
				people, conditional = true, true
			}
			switch {
			case !conditional:
				if !civilianAfter(f, i) {
					return evidence{tok, f.where, 0}, true
				}
			case harmAfter(f, i, people):
				return evidence{tok, f.where, 0}, true
			}
		}
	}
	return evidence{}, false
}

// leadVerb reports whether toks[i] is where a description's verb stands:
// first in the sentence, or after "and", "then", "or" or "to".
func leadVerb(toks []string, i int) bool {
	if i == 0 {
		return true
	}
	switch toks[i-1] {
	case "and", "then", "or", "to":
		return true
	}
	return false
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

// harmAfter reports whether a weapon, or with people a harm object,
// follows f.toks[i].
func harmAfter(f field, i int, people bool) bool {
	for _, w := range objectAfter(f, i) {
		if e := lexicon[w]; (people && harmObjects[w]) || (e != nil && e.noun >= 0.5) {
			return true
		}
	}
	return false
}

func joinWords(p []string) string {
	s := p[0]
	for _, w := range p[1:] {
		s += " " + w
	}
	return s
}
