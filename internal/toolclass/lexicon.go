package toolclass

import "strings"

// entry is what the classifier knows about one surface form of a word. A
// word may play several parts: "fire" is a force verb and a weak change
// verb; "launch" is a force verb and a change verb.
type entry struct {
	base string // canonical form, quoted in reasons

	verb float64 // weight as a force verb (fire, engage, launch)
	past bool    // this surface form is a past tense or participle ("fired")
	noun float64 // weight as weapon or hostile context (missile, hostile)
	obj  bool    // can be the object of a force verb ("fire the interceptor")
	act  float64 // a noun that is itself an act of force ("airstrike"), weight as a verb

	change int  // 2: changes the world (send, delete); 1: weak, loses to a read word in the name (fire, order)
	read   bool // reads or computes (get, list, status)

	sim  bool // marks a simulation or training tool
	live bool // marks real hardware or live use; defeats a simulation claim unless negated
	neg  bool // negates a live marker that follows within a few words
}

// Force verbs and their weights. A force verb alone never makes a tool
// force; it needs weapon context or an object (see Classify).
var forceVerbs = map[string]float64{
	"fire": 0.5, "engage": 0.5, "strike": 0.5, "launch": 0.5, "shoot": 0.5,
	"intercept": 0.5, "destroy": 0.5, "neutralize": 0.5, "neutralise": 0.5,
	"attack": 0.5, "lase": 0.5, "bomb": 0.5, "shell": 0.3,
	"release": 0.4, "arm": 0.4, "designate": 0.4, "drop": 0.3, "kill": 0.4,
	"trigger": 0.3, "employ": 0.3, "prosecute": 0.3, "deploy": 0.2,
	"authorize": 0.3, "authorise": 0.3, "slew": 0.3, "commit": 0.3,
	"hit": 0.3, "bombard": 0.5, "ram": 0.5, "discharge": 0.5, "eliminate": 0.5,
	"jam":      0.3,
	"detonate": 1.0, // nothing civilian is detonated by an API
}

// Irregular past forms of force verbs.
var irregularPast = map[string]string{
	"shot": "shoot", "struck": "strike", "stricken": "strike",
}

// Weapon and hostile context. obj marks nouns that a force verb can act on.
var weaponNouns = []struct {
	w        string
	weight   float64
	obj      bool
	selfAct  float64
	noPlural bool
}{
	{w: "weapon", weight: 0.6, obj: true},
	{w: "missile", weight: 0.6, obj: true},
	{w: "munition", weight: 0.7, obj: true},
	{w: "warhead", weight: 0.7, obj: true},
	{w: "ordnance", weight: 0.7, obj: true, noPlural: true},
	{w: "interceptor", weight: 0.5, obj: true},
	{w: "torpedo", weight: 0.6, obj: true},
	{w: "artillery", weight: 0.6, obj: true, noPlural: true},
	{w: "howitzer", weight: 0.6, obj: true},
	{w: "mortar", weight: 0.4, obj: true},
	{w: "rocket", weight: 0.4, obj: true},
	{w: "bomb", weight: 0.6, obj: true},
	{w: "explosive", weight: 0.6, obj: true},
	{w: "ammunition", weight: 0.6, obj: true, noPlural: true},
	{w: "ammo", weight: 0.5, obj: true, noPlural: true},
	{w: "grenade", weight: 0.6, obj: true},
	{w: "gun", weight: 0.5, obj: true},
	{w: "cannon", weight: 0.5, obj: true},
	{w: "turret", weight: 0.5, obj: true},
	{w: "rifle", weight: 0.5, obj: true},
	{w: "launcher", weight: 0.5, obj: true},
	{w: "effector", weight: 0.6, obj: true},
	{w: "detonation", weight: 0.7, obj: true, selfAct: 1.0}, // like "detonate"
	{w: "mines", weight: 0.5, obj: true, noPlural: true},
	{w: "landmine", weight: 0.6, obj: true},
	{w: "fuze", weight: 0.6, obj: true},
	{w: "rounds", weight: 0.3, obj: true, noPlural: true},
	{w: "hellfire", weight: 0.6, obj: true, noPlural: true},
	{w: "jdam", weight: 0.6, obj: true},
	{w: "ucav", weight: 0.5, obj: true},
	{w: "payload", weight: 0.3, obj: true},
	{w: "target", weight: 0.3, obj: true},
	{w: "track", weight: 0.2, obj: true},
	{w: "hostile", weight: 0.5, obj: true},
	{w: "enemy", weight: 0.5, obj: true, noPlural: true},
	{w: "enemies", weight: 0.5, obj: true, noPlural: true},
	{w: "combatant", weight: 0.5, obj: true},
	{w: "adversary", weight: 0.3, obj: true, noPlural: true},
	{w: "lethal", weight: 0.6, noPlural: true},
	{w: "kinetic", weight: 0.5, noPlural: true},
	{w: "engagement", weight: 0.4},
	{w: "sniper", weight: 0.5},
	{w: "drone", weight: 0.2},
	{w: "uav", weight: 0.2},
	{w: "airstrike", weight: 0.7, selfAct: 0.4},
	{w: "salvo", weight: 0.5, selfAct: 0.4},
	{w: "volley", weight: 0.5, selfAct: 0.4},
	{w: "barrage", weight: 0.5, selfAct: 0.4},
	{w: "sortie", weight: 0.3},
	{w: "strike", weight: 0.3, obj: true}, // "launch a strike"; never its own context (see Classify)
}

// Nouns that, right after "target", make it a civilian compound
// ("target audience", "target directory"), so "target" is no weapon context.
var civilianHeads = words(`audience audiences process processes file files directory
	folder url urls branch host hosts node nodes language languages date price
	temperature group groups environment env cluster account accounts user users
	table database repo repository platform version path channel market segment
	customer customers device devices list keyword keywords page pages server
	servers revenue metric metrics value values state word words date deadline
	sdk framework arch architecture os system`)

// Strong phrases: each is decisive force evidence on its own.
var forcePhrases = phraseIndex([][]string{
	{"weapons", "release"}, {"weapon", "release"}, {"release", "weapons"},
	{"release", "weapon"}, {"release", "authority"}, {"fire", "mission"},
	{"target", "designation"}, {"designate", "target"}, {"designate", "targets"},
	{"weapons", "free"}, {"weapons", "hold"}, {"time", "on", "target"},
	{"rules", "of", "engagement"}, {"use", "of", "force"}, {"lethal", "force"},
	{"danger", "close"}, {"call", "for", "fire"}, {"close", "air", "support"},
	{"kill", "chain"}, {"arm", "payload"}, {"arm", "warhead"},
	{"arm", "weapon"}, {"arm", "weapons"}, {"fire", "control", "solution"},
	{"engage", "target"}, {"engage", "targets"}, {"kinetic", "strike"},
	{"kinetic", "effect"}, {"kinetic", "effects"}, {"drone", "strike"},
	{"missile", "launch"}, {"launch", "missile"}, {"launch", "missiles"},
	{"fire", "weapon"}, {"fire", "weapons"}, {"live", "fire"},
	{"lethal", "engagement"}, {"loitering", "munition"}, {"sea", "mines"},
	{"lay", "mines"}, {"strike", "package"}, {"hit", "target"}, {"hit", "the", "target"},
})

// Verbs that change the world. weakChange verbs are also common nouns
// ("fire alarm", "order status") and lose to a read word in the name.
var changeVerbs = words(`send delete remove create update write pay transfer deploy
	post publish execute exec run kill terminate launch submit cancel book
	purchase buy sell refund charge move rename upload commit push merge approve
	reject modify edit insert restart stop start shutdown reboot scale invite
	assign schedule reply forward email sms tweet retweet like follow unfollow install
	uninstall grant revoke unlock close dispatch reset apply provision destroy
	mint add append replace patch put save store register enable disable
	toggle activate deactivate click type fill press strike shoot fire
	withdraw deposit ban mute block kick share comment upvote vote accept
	decline notify escalate resolve reopen acknowledge snooze invoice bill
	reserve rent hire draft set clear drop truncate wipe erase purge overwrite
	mkdir rm mv cp chmod chown trigger release arm disarm engage detonate
	intercept attack neutralize neutralise lase designate bomb message text
	call dial broadcast unsubscribe subscribe order transfer wire capture
	record lock open steer drive fly land takeoff rollback revert transmit jam
	target
	migrate sync import export attach detach mount unmount configure
	issue void cancel checkout process generate discharge eliminate spawn`)

var weakChange = words(`fire order post mark book lock open text call record schedule
	capture process generate issue type press drive fly strike
	shoot launch trigger release engage detonate intercept attack neutralize
	neutralise lase designate bomb arm disarm target`)

// Words that read or compute without changing anything.
var readVerbs = words(`get list search find read fetch query lookup look describe
	show view check status count calculate calc compute convert translate
	summarize summarise explain estimate validate verify preview inspect browse
	retrieve download analyze analyse predict forecast recommend suggest detect
	classify extract parse lint diff compare measure monitor watch scan ping
	info details history report log logs stats statistics weather quote price
	rates rate time current health tail echo whoami identify recognize
	geocode distance route plan simulate evaluate assess score rank
	snapshot screenshot risk insights summary overview metadata directory`)

var simWords = words(`simulate simulation simulated simulator sim wargame wargaming
	training trainer tabletop sandbox virtual hypothetical emulate emulated
	emulator synthetic game`)

var liveWords = words(`live real actual physical hardware operational`)

// "doesn't" splits into "doesn" and "t".
var negWords = words(`no not never without non nor zero neither cannot t doesn don isn won`)

// Phrases that mark simulation use when they appear in the name.
var simPhrases = phraseIndex([][]string{{"war", "game"}, {"dry", "run"}, {"what", "if"}})

// phraseIndex indexes phrases by their first word.
func phraseIndex(ps [][]string) map[string][][]string {
	m := map[string][][]string{}
	for _, p := range ps {
		m[p[0]] = append(m[p[0]], p)
	}
	return m
}

func words(s string) map[string]bool {
	m := map[string]bool{}
	for _, w := range strings.Fields(s) {
		m[w] = true
	}
	return m
}

// lexicon maps every surface form the classifier knows to its entry.
var lexicon = buildLexicon()

func buildLexicon() map[string]*entry {
	lex := map[string]*entry{}
	get := func(form, base string) *entry {
		e := lex[form]
		if e == nil {
			e = &entry{base: base}
			lex[form] = e
		}
		return e
	}
	for v, wgt := range forceVerbs {
		for _, f := range verbForms(v) {
			e := get(f.form, v)
			e.verb = wgt
			e.past = f.past
		}
	}
	for past, v := range irregularPast {
		e := get(past, v)
		e.verb = forceVerbs[v]
		e.past = true
	}
	for _, n := range weaponNouns {
		forms := []string{n.w}
		if !n.noPlural {
			forms = append(forms, plural(n.w))
		}
		for _, f := range forms {
			e := get(f, n.w)
			e.noun, e.obj, e.act = n.weight, n.obj, n.selfAct
		}
	}
	for v := range changeVerbs {
		lvl := 2
		if weakChange[v] {
			lvl = 1
		}
		for _, f := range verbForms(v) {
			if e := get(f.form, v); e.change < lvl {
				e.change = lvl
			}
		}
	}
	// The verbs of the suspect band change the world too; as common
	// nouns ("storm", "level", "service") they lose to a read word.
	for _, vs := range harmVerbTiers {
		for v := range words(vs) {
			addWeakChange(get, v)
		}
	}
	for v := range readVerbs {
		for _, f := range verbForms(v) {
			get(f.form, v).read = true
		}
	}
	for w := range simWords {
		e := get(w, w)
		e.sim = true
		e.read = true // "training_strike_scenario" reads as a simulation, not a strike
	}
	for w := range liveWords {
		get(w, w).live = true
	}
	for w := range negWords {
		get(w, w).neg = true
	}
	return lex
}

// addWeakChange makes v a weak change verb unless the lexicon knows it
// already ("ram" stays a force verb only, so that "ram_usage" reads).
func addWeakChange(get func(form, base string) *entry, v string) {
	if _, ok := forceVerbs[v]; ok {
		return
	}
	for _, f := range verbForms(v) {
		if e := get(f.form, v); e.change == 0 {
			e.change = 1
		}
	}
}

type form struct {
	form string
	past bool
}

// verbForms returns v, its third person, -ing and -ed forms, by the
// ordinary English spelling rules; irregular forms are listed separately.
func verbForms(v string) []form {
	fs := []form{{v, false}, {plural(v), false}}
	stem := v
	switch {
	case strings.HasSuffix(v, "e") && !strings.HasSuffix(v, "ee"):
		stem = v[:len(v)-1]
		fs = append(fs, form{v + "d", true})
	case strings.HasSuffix(v, "y") && len(v) > 2 && !isVowel(v[len(v)-2]):
		fs = append(fs, form{v[:len(v)-1] + "ied", true})
	default:
		if cvc(v) {
			fs = append(fs, form{v + v[len(v)-1:] + "ed", true}, form{v + v[len(v)-1:] + "ing", false})
		}
		fs = append(fs, form{v + "ed", true})
	}
	fs = append(fs, form{stem + "ing", false})
	return fs
}

func plural(w string) string {
	switch {
	case strings.HasSuffix(w, "s"), strings.HasSuffix(w, "sh"), strings.HasSuffix(w, "ch"), strings.HasSuffix(w, "x"):
		return w + "es"
	case strings.HasSuffix(w, "y") && len(w) > 2 && !isVowel(w[len(w)-2]):
		return w[:len(w)-1] + "ies"
	case strings.HasSuffix(w, "o") && w != "ammo" && w != "repo":
		return w + "es"
	}
	return w + "s"
}

func isVowel(c byte) bool { return strings.IndexByte("aeiou", c) >= 0 }

// cvc reports a short consonant-vowel-consonant verb whose last consonant
// doubles before -ed and -ing ("drop", "stop", "ban").
func cvc(v string) bool {
	n := len(v)
	if n < 3 || n > 4 {
		return false
	}
	last := v[n-1]
	return !isVowel(v[n-3]) && isVowel(v[n-2]) && !isVowel(last) && last != 'w' && last != 'x' && last != 'y'
}
