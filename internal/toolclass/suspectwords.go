package toolclass

// The vocabulary of the force-suspect band (see suspect.go). It was
// written from the vocabulary of force, not from the tools any test set
// missed: the effect terms of joint fires and targeting doctrine; kinetic
// verbs and their euphemisms and slang, phrasal verbs included;
// crowd-control and less-lethal means; counter-UAS effectors; verbs of
// physical harm; and the objects force acts on. Every word here has a
// look-alike beside it in suspect_test.go (TestVocabularyLookAlikes
// checks that), because each is also an everyday word somewhere.

// harmTier says what a harm verb needs after it to count.
type harmTier uint8

const (
	// tierAny counts unless a civilian object follows ("kill_process").
	tierAny harmTier = iota + 1
	// tierHostile counts on a hostile object, a weapon or a target
	// ("prosecute the track", "splash the bandit"), not on a person,
	// vehicle or place alone ("service the vehicle" is maintenance).
	tierHostile
	// tierPhysical counts on a hostile object, a weapon, a target, a
	// person or a vehicle, vessel or structure ("sink the boat", "take out
	// the truck", "disable the vehicle").
	tierPhysical
	// tierPerson counts on a hostile object, a target or a person
	// ("execute the prisoner", not "execute the query").
	tierPerson
	// tierWeapon counts on a weapon ("launch the missile", not "launch
	// the drone", which is a take-off).
	tierWeapon
)

// harmVerbTiers are the verbs of harm, by what they need after them. The
// verbs that are common software words ("execute", "terminate", "nuke",
// "burn", "raid", "flatten", "level") are in the tiers that need a
// physical or hostile object.
var harmVerbTiers = map[harmTier]string{
	// Verbs with no everyday object but a civilian one that a civilian
	// word after them catches.
	tierAny: `attack neutralize neutralise kill destroy ram discharge detonate
		strike shoot engage eliminate jam intercept fire
		assassinate obliterate massacre slaughter murder maim injure
		incapacitate incinerate immolate raze interdict canalize canalise
		ambush tase bombard`,
	// Fires and targeting verbs: they act on targets and hostiles.
	tierHostile: `prosecute service hit splash paint lase designate nominate
		cue slew spike expend pound pummel hammer hose drop level flatten nuke spoof`,
	// Kinetic, euphemistic and less-lethal verbs: they act on anything
	// physical.
	tierPhysical: `bomb torpedo annihilate strafe sink scuttle crush disable storm assault raid breach
		overrun torch burn ignite fry zap dazzle blind shell snipe frag smoke
		waste whack suppress defeat harass disperse subdue restrain`,
	// Verbs that are harm only when done to a person.
	tierPerson: `execute terminate liquidate detain gas stun wound`,
	// Verbs that are harm only when done with a weapon.
	tierWeapon: `launch`,
}

// phrasalHarmVerbs are verbs of harm made of a verb and a particle, by
// tier. The particle must follow the verb directly ("take_out_truck",
// "shoots down the drone").
var phrasalHarmVerbs = map[harmTier][][2]string{
	tierAny: {
		{"shoot", "down"}, {"blow", "up"}, {"gun", "down"}, {"mow", "down"},
	},
	tierHostile: {
		{"light", "up"},
	},
	tierPhysical: {
		{"take", "out"}, {"knock", "out"}, {"knock", "down"}, {"bring", "down"},
		{"wipe", "out"}, {"run", "over"}, {"take", "down"}, {"cut", "down"},
		{"collide", "with"},
	},
}

// irregularHarmPast are the irregular past forms of harm verbs; a past
// form is a report of force, not force ("whether the boat was sunk").
var irregularHarmPast = map[string]string{
	"sank": "sink", "sunk": "sink", "took": "take", "taken": "take",
	"blew": "blow", "blown": "blow", "brought": "bring", "ran": "run",
	"overran": "overrun", "shot": "shoot", "struck": "strike",
}

// Object kinds: what a verb acts on. Higher is more hostile.
type objKind uint8

const (
	objNone     objKind = iota
	objPhysical         // a vehicle, vessel, structure or place
	objPerson           // a person or a crowd
	objTarget           // "target", "track", "contact": hostile in a force context
	objHostile          // hostile by the word itself: "bandit", "bunker"
	objWeapon           // a weapon or a less-lethal means
)

// hostileObjects are hostile or military by the word itself.
var hostileObjects = words(`hostile hostiles enemy enemies bandit bandits bogey
	bogeys bogie bogies combatant combatants insurgent insurgents militant
	militants terrorist terrorists hvi hvis hvt hvts opfor adversary
	adversaries gunman gunmen sniper snipers emplacement emplacements bunker
	bunkers sam sams manpads pillbox pillboxes trench trenches
	foxhole foxholes redoubt technicals`)

// personObjects are people.
var personObjects = words(`person people persons human humans subject subjects
	individual individuals intruder intruders occupant occupants crowd crowds
	protester protesters protestors demonstrator demonstrators rioter rioters
	suspect suspects prisoner prisoners detainee detainees captive captives
	hostage hostages personnel troops troop soldier soldiers fighter fighters
	pedestrian pedestrians driver drivers pilot pilots crew crews mob mobs
	gathering assembly guard guards sentry sentries platoon platoons`)

// physicalObjects are vehicles, vessels, aircraft, structures and places.
var physicalObjects = words(`vehicle vehicles car cars truck trucks tank tanks
	apc apcs boat boats vessel vessels ship ships skiff skiffs craft
	submarine submarines aircraft airplane airplanes plane planes helicopter
	helicopters jet jets drone drones uav uavs uas quadcopter quadcopters swarm
	swarms building buildings structure structures bridge bridges compound
	compounds house houses door doors wall walls gate gates site sites
	position positions radar radars village villages town towns coordinates
	checkpoint checkpoints outpost outposts room rooms convoy convoys crossing
	crossings road roads ford chokepoint chokepoints airfield airfields runway
	runways airstrip airstrips depot depots harbour harbor`)

// targetObjects are hostile in a force context or after a harm verb.
var targetObjects = words(`target targets track tracks contact contacts threat
	threats`)

// weaponPhrases are weapons and less-lethal means named by more than one
// word; their last word is the weapon ("deploy the tear gas").
var weaponPhrases = phraseIndex([][]string{
	{"tear", "gas"}, {"pepper", "spray"}, {"pepper", "balls"},
	{"rubber", "bullets"}, {"rubber", "rounds"}, {"baton", "rounds"},
	{"water", "cannon"}, {"stun", "grenade"}, {"flash", "bang"},
	{"sonic", "cannon"}, {"sonic", "weapon"}, {"acoustic", "device"},
	{"active", "denial"}, {"directed", "energy"}, {"high", "power", "microwave"},
	{"high", "energy", "laser"}, {"laser", "weapon"}, {"net", "gun"},
	{"bean", "bag", "rounds"}, {"hard", "kill"}, {"soft", "kill"},
})

// lessLethal are less-lethal means and counter-UAS effectors named by one
// word; they are weapons for the suspect band.
var lessLethal = words(`taser tasers lrad dazzler dazzlers flashbang flashbangs
	teargas hpm seeker seekers`)

// friendlyWords, modifying the object of an action that is not a harm
// verb, make it friendly: "schedule the resupply convoy", "launch the
// rescue boat". They do not disarm a harm verb: "sink the rescue boat" is
// force.
var friendlyWords = words(`resupply supply supplies escort rescue medevac
	evacuation ambulance hospital medical relief aid humanitarian friendly
	friendlies own blue allied coalition`)

// militaryWords put a tool in a force context: with them, an action on a
// target, a person or a vehicle is suspect ("divert the vessel" in a tool
// that also names the patrol's deck gun).
var militaryWords = words(`military tactical combat battlefield warfighter
	warfighting sortie sorties squadron battalion brigade platoon regiment
	infantry armor armour armored armoured isr jtac usv usvs ugv ugvs ucav
	rws fob sead c2 uxo riot riots swat rogue incoming fires opfor
	counterdrone interceptor interceptors effector effectors weaponry
	firepower crosshair crosshairs designator designators gunship gunships
	bomber bombers`)

// forceCommandPhrases are the brevity codes and fire commands of force:
// each is a harm signal on its own.
var forceCommandPhrases = [][]string{
	{"clear", "hot"}, {"cleared", "hot"}, {"cleared", "to", "engage"},
	{"fire", "for", "effect"}, {"rounds", "complete"}, {"slew", "to", "cue"},
	{"go", "kinetic"}, {"open", "fire"}, {"pull", "the", "trigger"},
	{"take", "the", "shot"}, {"fire", "at", "will"}, {"steel", "on", "target"},
	{"rounds", "on", "target"}, {"kill", "box"}, {"soft", "kill"},
	{"weapons", "hold"},
}

// doctrineEffects are the effect terms of fires and targeting doctrine that
// are everyday verbs too ("block the user", "fix the bug", "turn the
// page"); they count through the structural rule, on a hostile object or
// on a place or vehicle in a force context ("block the enemy column",
// "deny the crossing to the enemy armour"). The others (destroy,
// neutralize, suppress, interdict, defeat, harass, canalize) are harm
// verbs in harmVerbTiers.
var doctrineEffects = words(`disrupt degrade deny delay divert fix block turn`)

// harmlessVerbs are not acts of force when they act on a hostile object:
// they observe, report, protect, rescue or supply ("track the bandit",
// "evacuate the crowd", "resupply the outpost"). Read words in the
// lexicon are harmless too.
var harmlessVerbs = words(`return returns provide give display output print
	render plot draw visualize visualise tell answer notify alert warn hail
	track observe locate geolocate surveil survey scout recon reconnoiter
	reconnoitre image photograph film record identify classify detect
	triangulate avoid evade rescue evacuate escort protect shelter treat
	medevac resupply supply feed help assist deconflict spawn follow shadow
	order buy purchase procure requisition ship transport stow store
	maintain clean repair inspect catalog catalogue label count brief debrief
	plan assess monitor predict estimate simulate`)

// namePrefixes are words that lead names without being their verb
// ("mav_cmd_do_set_servo", "ros_uav_...").
var namePrefixes = words(`mav cmd do nav ros api tool c`)

// actuators are what release a payload on a platform ("the servo on
// channel 9 drives the bomb hook").
var actuators = words(`servo servos relay relays gripper grippers solenoid
	solenoids actuator actuators latch latches hook hooks winch dropper
	droppers pwm mechanism`)

// releaseWords release or drop what an actuator holds.
var releaseWords = words(`drop drops dropping release releases releasing
	jettison jettisons jettisoning`)

// reportNouns, ending a tool's name, say that it reads or reports
// ("strike_assessment", "ambush_predator_facts"); see readGoverns.
var reportNouns = words(`report reports status summary summaries count counts
	assessment assessments stats statistics history log logs list lists info
	details overview metadata insights snapshot forecast estimate lookup
	search facts faq guide wiki article articles news dashboard analytics
	metrics catalog directory inventory calculator advice docs explainer
	quiz viewer checker picture outlook briefing map maps timeline`)
