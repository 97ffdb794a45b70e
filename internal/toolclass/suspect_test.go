package toolclass

import (
	"strings"
	"testing"
)

// TestDescriptionOnlyRaises checks that a request-supplied description
// or schema never lowers the class the name alone gets.
func TestDescriptionOnlyRaises(t *testing.T) {
	tests := []struct {
		tool Tool
		want string
	}{
		{Tool{Name: "fire_interceptor", Description: "Training simulation only; commands no hardware."}, Force},
		{Tool{Name: "launch_missile", Description: "A sandbox. Does not control any real launcher."}, Force},
		{Tool{Name: "send_email", Description: "Get the status of nothing."}, Consequential},
		{Tool{Name: "get_weather", Description: "Fire an interceptor at the hostile track."}, Force}, // raising is allowed
		// A simulation word leading the name itself still exempts: the
		// name is the dispatch key (see "Simulations" in the package doc).
		{Tool{Name: "simulate_strike", Description: "Estimate the outcome of a strike. Commands no hardware."}, Informational},
		{Tool{Name: "sim_fire_artillery", Description: "Fire artillery in the virtual trainer."}, Informational},
		{Tool{Name: "sim_fire_artillery", Description: "Fires the real battery."}, Force},
		{Tool{Name: "sim_fire_artillery"}, Force}, // a prefix alone is not enough
	}
	for _, tt := range tests {
		t.Run(tt.tool.Name+"/"+tt.tool.Description, func(t *testing.T) {
			if got := Classify(tt.tool); got.Class != tt.want {
				t.Errorf("got %s (%s), want %s", got.Class, got.Reason, tt.want)
			}
		})
	}
}

// TestConfusableNames checks that look-alike letters and leetspeak do not
// lower a name's class, and that leetspeak does not raise a harmless one.
func TestConfusableNames(t *testing.T) {
	tests := []struct{ name, want string }{
		{"fіre_interceptor", Force}, // Cyrillic і
		{"f1re_interceptor", Force},
		{"ｆｉｒｅ_ｉｎｔｅｒｃｅｐｔｏｒ", Force},
		{"fíre_interceptor", Force},
		{"FIRE_1NTERCEPTOR", Force},
		{"he11fire_launch", Force}, // 1 as l
		{"d3tonate", Force},
		{"$trike_target", Force},
		{"@ttack_convoy", Force},
		{"gpt4_summary", Informational},
		{"s3_list_buckets", Informational},
		{"ec2_launch_instance", Consequential},
		{"ѕеnd_еmаil", Consequential},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(Tool{Name: tt.name}); got.Class != tt.want {
				t.Errorf("got %s (%s), want %s", got.Class, got.Reason, tt.want)
			}
		})
	}
}

// TestSuspect checks the force-suspect band: plainly named force tools
// that the force score misses are held, with Suspect set.
func TestSuspect(t *testing.T) {
	tests := []struct {
		tool Tool
		why  string
	}{
		{Tool{Name: "attack", Description: "Attack."}, `"attack" (name)`},
		{Tool{Name: "neutralize_intruder"}, `"neutralize"`},
		{Tool{Name: "ram_boat", Description: "Ram the approaching boat."}, `"ram"`},
		{Tool{Name: "discharge", Description: "Discharge at the contact."}, `"discharge"`},
		{Tool{Name: "lock_and_fire", Description: "Acquire lock on the track and fire."}, `"fire" (name)`},
		{Tool{Name: "acquire_lock", Description: "Acquire lock on the hostile track."}, `"acquire lock"`},
		{Tool{Name: "lethal_response"}, `"lethal"`},
		{Tool{Name: "eliminate_target"}, `"eliminate"`},
		{Tool{Name: "disable_vehicle"}, `"disable vehicle"`},
		{Tool{Name: "set_weapons_free"}, `"weapons free"`},
		{Tool{Name: "handoff", Description: "Hand the missile over to terminal guidance."}, `"terminal guidance"`},
		{Tool{Name: "loiter_over_area"}, `"loiter"`},
		{Tool{Name: "execute", InputSchema: []byte(`{"properties":{"mode":{"enum":["observe","kill_vehicle"]}}}`)}, `schema enum "kill_vehicle"`},
	}
	for _, tt := range tests {
		t.Run(tt.tool.Name, func(t *testing.T) {
			got := Classify(tt.tool)
			if got.Class != Force {
				t.Fatalf("got %s (%s), want force", got.Class, got.Reason)
			}
			if !strings.Contains(got.Reason, tt.why) {
				t.Errorf("got reason %q, want it to contain %q", got.Reason, tt.why)
			}
		})
	}
	if got := Classify(Tool{Name: "fire_interceptor"}); got.Suspect {
		t.Errorf("fire_interceptor: got Suspect with score %.2f, want a plain force result", got.Score)
	}
}

// TestLookAlikes checks the false-alarm goal of the suspect band: at most
// one in 20 look-alikes is held as force.
func TestLookAlikes(t *testing.T) {
	tools := []Tool{
		{Name: "kill_process", Description: "Kill a process by PID."},
		{Name: "fire_alarm_status", Description: "Status of the building fire alarms."},
		{Name: "launch_job", Description: "Launch a batch job."},
		{Name: "strike_through_text", Description: "Strike through the selected text."},
		{Name: "shoot_photo", Description: "Shoot a photo with the camera."},
		{Name: "target_audience", Description: "Describe a campaign's target audience."},
		{Name: "attack_surface_report", Description: "Report the external attack surface of a domain."},
		{Name: "ram_usage", Description: "Current RAM usage of a host."},
		{Name: "discharge_summary", Description: "Fetch the hospital discharge summary for a patient."},
		{Name: "disable_notifications", Description: "Disable push notifications for a user."},
		{Name: "jam_session_playlist", Description: "Create a collaborative jam session playlist."},
		{Name: "engage_customer", Description: "Send a re-engagement message to a customer."},
		{Name: "neutralize_ph", Description: "Compute the buffer needed to neutralize a solution's pH."},
		{Name: "kill_container", Description: "Kill a running Docker container."},
		{Name: "fire_webhook", Description: "Fire a webhook to the configured URL."},
		{Name: "launch_campaign", Description: "Launch a marketing campaign."},
		{Name: "engage_autopilot", Description: "Engage the autopilot."},
		{Name: "intercept_request", Description: "Intercept an HTTP request in the debugging proxy."},
		{Name: "destroy_vm", Description: "Destroy a virtual machine."},
		{Name: "lethal_dose_lookup", Description: "Look up the LD50 of a compound."},
	}
	var alarms []string
	for _, tool := range tools {
		if r := Classify(tool); r.Class == Force {
			alarms = append(alarms, tool.Name+": "+r.Reason)
		}
	}
	t.Logf("%d false alarms in %d look-alikes: %q", len(alarms), len(tools), alarms)
	if len(alarms) > 1 {
		t.Errorf("got %d false alarms in %d look-alikes, want at most 1", len(alarms), len(tools))
	}
}

// vocabulary is, for each word of the suspect band's vocabulary
// (suspectwords.go), a force tool that uses it and a look-alike that uses
// it in its everyday sense. A word goes into the vocabulary only with an
// entry here; TestVocabularyLookAlikes checks both halves and that no
// word is missing. Tools are written "name: description".
var vocabulary = []struct{ word, force, lookAlike string }{
	// tierAny.
	{"assassinate", "assassinate: Assassinate the named individual.", "assassination_history_search: Search articles on historical assassinations."},
	{"annihilate", "annihilate_position: Annihilate the position.", "annihilate_particles_sim: Compute the energy released when particles annihilate. Commands no hardware."},
	{"obliterate", "obliterate: Obliterate the compound at the grid.", "obliterate_git_history: Obliterate a file from a repository's history."},
	{"massacre", "massacre: Massacre everyone inside.", "massacre_memorial_info: Information about memorial sites."},
	{"slaughter", "slaughter_villagers: Slaughter the villagers.", "slaughterhouse_inspection_log: Inspection log of a slaughterhouse."},
	{"murder", "murder_subject: Murder the subject.", "murder_mystery_book_search: Search murder mystery novels."},
	{"maim", "maim_intruder: Maim the intruder.", "get_maim_statistics: Injury statistics from road accidents."},
	{"injure", "injure_target: Injure the target with the drone.", "injured_reserve_list: List players on the injured reserve."},
	{"incapacitate", "incapacitate: Incapacitate the occupant.", "incapacity_benefit_check: Check eligibility for an incapacity benefit."},
	{"incinerate", "incinerate_bunker: Incinerate the bunker with thermobaric rounds.", "incinerate_waste_batch: Incinerate a waste batch at the plant."},
	{"immolate", "immolate: Immolate the vehicle.", "immolation_scene_render: Render the immolation scene of the game cutscene in the virtual engine."},
	{"raze", "raze_village: Raze the village.", "raze_site_photos: Photos of the Raze music festival site."},
	{"strafe", "strafe_road: Strafe the trucks on the road.", "strafe_keybinding: Set the strafe key binding in the game settings."},
	{"interdict", "interdict_route: Interdict the supply route.", "interdiction_report: Report drug interdiction statistics."},
	{"canalize", "canalize_enemy: Canalize the enemy into the valley.", "canal_lock_schedule: Opening times of canal locks."},
	{"canalise", "canalise: Canalise the armour towards the engagement area.", "canal_boat_rental: Rent a canal boat for a weekend."},
	{"ambush", "ambush: Ambush the convoy at the bridge.", "ambush_predator_facts: Facts about ambush predators in nature."},
	{"tase", "tase_subject: Tase the subject.", "taste_profile: Describe the taste profile of a wine."},
	{"torpedo", "torpedo_ship: Torpedo the ship.", "torpedo_the_deal_news: Search news on deals torpedoed by regulators."},
	{"bomb", "bomb_bridge: Bomb the bridge.", "bomb_squad_directory: Directory of regional bomb squads."},
	{"bombard", "bombard: Bombard the town.", "bombard_inbox_test: Send test emails to a sandbox inbox."},
	// tierHostile.
	{"prosecute", "prosecute_track: Prosecute the hostile track.", "prosecute_case: File a case with the court clerk."},
	{"service", "service_target: Service the target with the gun battery.", "service_target_status: Status of a systemd target."},
	{"hit", "hit_enemy: Hit the enemy position.", "hit_endpoint: Call an HTTP endpoint."},
	{"splash", "splash_bandit: Splash the bandit.", "splash_screen_config: Configure the app's splash screen."},
	{"paint", "paint_target: Paint the target with the laser designator.", "paint_canvas: Paint a shape on the canvas."},
	{"lase", "lase: Lase the enemy tank for the gunship.", "laser_printer_status: Status of the laser printer."},
	{"designate", "designate_hostile: Designate the hostile for the shooter.", "designate_approver: Designate an approver for expenses."},
	{"nominate", "nominate_hvt: Nominate the HVT to the strike cell.", "nominate_employee_award: Nominate an employee for an award."},
	{"cue", "cue_shooter: Cue the enemy launcher to the turret.", "cue_next_track: Cue the next track in the DJ deck."},
	{"slew", "slew: Slew the sensor onto the hostile and hold.", "slew_rate_limit: Set the slew rate limit of an amplifier."},
	{"spike", "spike: Spike the bandit with the fire-control radar.", "spike_protein_lookup: Look up spike protein sequences."},
	{"expend", "expend_munitions: Expend all munitions on the objective.", "expend_budget: Record budget spent against a grant."},
	{"pound", "pound_enemy: Pound the enemy trench line.", "pound_to_kg: Convert pounds to kilograms."},
	{"pummel", "pummel: Pummel the insurgents with mortar fire.", "pummel_horse_scores: Gymnastics pommel horse scores."},
	{"hammer", "hammer_hostiles: Hammer the hostiles on the ridge.", "hammer_js_gesture: Register a touch gesture with Hammer.js."},
	{"hose", "hose_down: Hose down the militants with the gun.", "hose_reel_order: Order a garden hose reel."},
	{"drop", "drop_on_enemy: Drop on the enemy bunker.", "drop_table: Drop a table from the database."},
	{"level", "level_bunker: Level the bunker.", "level_up_character: Level up a game character."},
	{"flatten", "flatten_bunker: Flatten the bunker.", "flatten_json: Flatten a nested JSON object."},
	{"nuke", "nuke_enemy: Nuke the enemy.", "nuke_cache: Clear every cache entry."},
	{"spoof", "spoof_drone: Spoof the hostile drone's GPS.", "spoof_location: Set a mock GPS location on the test phone."},
	// tierPhysical.
	{"sink", "sink_vessel: Sink the vessel.", "log_sink_create: Create a log sink for the project."},
	{"scuttle", "scuttle_boat: Scuttle the boat.", "scuttlebutt_feed: Read the office gossip feed."},
	{"crush", "crush_car: Crush the car with the armoured vehicle.", "crush_candy_level: Load a candy game level."},
	{"collide with", "collide_with_drone: Collide with the drone to bring it down.", "collision_check: Check two meshes for collision."},
	{"disable", "disable_vehicle: Disable the fleeing vehicle.", "disable_notifications: Disable push notifications for a user."},
	{"storm", "storm_building: Storm the building.", "storm_drain_status: Status of the storm drains in a district."},
	{"assault", "assault_position: Assault the position from the north.", "assault_rifle_law_search: Search laws about weapons registration."},
	{"raid", "raid_compound: Raid the compound at dawn.", "raid_array_rebuild: Rebuild a degraded RAID array."},
	{"breach", "breach_door: Breach the door with a charge.", "breach_notification: Notify users of a data breach."},
	{"overrun", "overrun_outpost: Overrun the outpost.", "overrun_budget_alert: Alert when a project overruns its budget."},
	{"torch", "torch_house: Torch the house.", "torch_compile_model: Compile a PyTorch model."},
	{"burn", "burn_vehicles: Burn the vehicles in the yard.", "burn_tokens: Burn tokens from a wallet."},
	{"ignite", "ignite_vehicle: Ignite the vehicle's fuel tank.", "ignite_cache_config: Configure an Apache Ignite cache."},
	{"fry", "fry_drone: Fry the drone's electronics with the HPM.", "air_fry_recipe: Find an air fryer recipe."},
	{"zap", "zap_quadcopter: Zap the quadcopter.", "zapier_trigger: Trigger a Zapier zap."},
	{"dazzle", "dazzle_pilot: Dazzle the pilot.", "dazzle_theme: Apply the Dazzle colour theme."},
	{"blind", "blind_driver: Blind the driver with the strobe.", "blind_carbon_copy: Add a blind copy recipient to a draft."},
	{"shell", "shell_position: Shell the position.", "shell_exec: Run a shell command."},
	{"snipe", "snipe_guard: Snipe the guard on the wall.", "snipe_auction: Place a last-second bid on an auction."},
	{"frag", "frag_room: Frag the room before entry.", "frag_shader_compile: Compile a fragment shader."},
	{"smoke", "smoke_them: Smoke the hostiles.", "smoke_test_run: Run the smoke test suite."},
	{"waste", "waste_driver: Waste the driver.", "waste_collection_schedule: Waste collection days for an address."},
	{"whack", "whack_hvt: Whack the HVT.", "whack_a_mole_score: Score of a whack-a-mole game."},
	{"suppress", "suppress_position: Suppress the enemy position.", "suppress_warnings: Suppress compiler warnings in a file."},
	{"defeat", "defeat_drone: Defeat the drone.", "defeat_boss_guide: Guide to defeating a game boss."},
	{"harass", "harass_crowd: Harass the crowd with the LRAD.", "harassment_policy: Read the workplace harassment policy."},
	{"disperse", "disperse_crowd: Disperse the crowd.", "disperse_funds: Disburse grant funds to recipients."},
	{"subdue", "subdue_subject: Subdue the subject.", "subdued_palette: Generate a subdued colour palette."},
	{"restrain", "restrain_detainee: Restrain the detainee.", "restraining_order_lookup: Look up a restraining order."},
	// tierPerson.
	{"execute", "execute_prisoner: Execute the prisoner.", "execute_query: Execute a SQL query."},
	{"terminate", "terminate_hvi: Terminate the HVI.", "terminate_instance: Terminate a cloud instance."},
	{"liquidate", "liquidate_informant: Liquidate the informant individual.", "liquidate_positions: Sell all open positions in a portfolio."},
	{"detain", "detain_suspect: Detain the suspect.", "detainee_visit_booking: Book a visit."},
	{"gas", "gas_crowd: Gas the crowd.", "gas_price_lookup: Fuel prices near an address."},
	{"stun", "stun_person: Stun the person.", "stunnel_config: Configure stunnel."},
	{"wound", "wound_combatant: Wound the combatant.", "wound_care_plan: Wound care schedule for a patient."},
	// tierWeapon.
	{"launch", "launch_torpedo_now: Launch the torpedo.", "launch_campaign: Launch a marketing campaign."},
	// Doctrine effect terms that are everyday verbs: they count through
	// the structural rule only.
	{"disrupt", "disrupt_enemy_c2: Disrupt the enemy command post.", "disrupt_market_analysis: Analyse how a startup could disrupt a market."},
	{"degrade", "degrade_air_defence: Degrade the hostile SAM network.", "degrade_gracefully: Serve a cached page when the backend is slow."},
	{"deny", "deny_crossing: Deny the crossing to the enemy armour.", "deny_request: Deny an access request."},
	{"delay", "delay_enemy: Delay the enemy column at the ford.", "delay_message: Delay a scheduled message by an hour."},
	{"divert", "divert_bandit: Divert the bandit with the fighter pair.", "divert_flight: Rebook a diverted flight."},
	{"fix", "fix_enemy: Fix the enemy battalion in place.", "fix_position_drift: Correct a robot arm's position drift."},
	{"block", "block_column: Block the hostile column at the bridge.", "block_user: Block a user from the workspace."},
	{"turn", "turn_flank: Turn the enemy flank with the reserve.", "turn_page: Turn the page of the e-reader."},
	// Phrasal verbs.
	{"shoot down", "shoot_down_drone: Shoot down the drone.", "shootout_scores: Penalty shootout scores."},
	{"blow up", "blow_up_bridge: Blow up the bridge.", "blow_up_photo: Enlarge a photo for print."},
	{"gun down", "gun_down: Gun down the fleeing gunmen.", "gun_safe_catalog: Catalog of gun safes."},
	{"mow down", "mow_down: Mow down the advancing troops.", "mow_lawn_schedule: Schedule for the robot lawn mower."},
	{"light up", "light_up_target: Light up the target for the gunship.", "light_up_led: Light up an LED strip."},
	{"take out", "take_out_truck: Take out the truck.", "take_out_order: Place a take-out food order."},
	{"knock out", "knock_out_radar: Knock out the radar.", "knockout_bracket: Build a knockout tournament bracket."},
	{"knock down", "knock_down_drone: Knock down the drone.", "knock_knock_joke: Tell a knock-knock joke."},
	{"bring down", "bring_down_aircraft: Bring down the aircraft.", "bring_down_server: Bring down a server for maintenance."},
	{"wipe out", "wipe_out_platoon: Wipe out the platoon.", "wipe_out_data: Wipe out all data on the device."},
	{"run over", "run_over_pedestrian: Run over the pedestrian.", "run_overnight_backup: Run the overnight backup."},
	{"take down", "take_down_helicopter: Take down the helicopter.", "take_down_post: Take down a blog post."},
	{"cut down", "cut_down_fighters: Cut down the fighters in the open.", "cut_down_costs: Suggest ways to cut down costs."},
	// Fire commands and brevity.
	{"clear hot", "clear_hot: Clear hot on the marked target.", "clear_hotkeys: Clear keyboard hotkeys."},
	{"cleared hot", "cleared_hot: Cleared hot.", "cleared_checks_list: List cleared cheques."},
	{"cleared to engage", "clearance: Cleared to engage.", "clearance_sale: Clearance sale items."},
	{"fire for effect", "ffe: Fire for effect.", "fire_effect_shader: Render a fire effect in the game engine."},
	{"rounds complete", "rounds_complete: Rounds complete.", "golf_rounds_completed: Golf rounds completed this season."},
	{"slew to cue", "slew_to_cue: Slew to cue on the track.", "cue_card_print: Print cue cards."},
	{"go kinetic", "go_kinetic: Go kinetic.", "kinetic_typography: Make a kinetic typography video."},
	{"open fire", "open_fire: Open fire.", "open_firewall_port: Open a firewall port."},
	{"pull the trigger", "pull_trigger: Pull the trigger.", "pull_trigger_config: Pull the CI trigger configuration."},
	{"take the shot", "take_shot: Take the shot.", "take_screenshot: Take a screenshot."},
	{"fire at will", "fire_at_will: Fire at will.", "fire_drill_schedule: Schedule fire drills."},
	{"steel on target", "steel: Put steel on target.", "steel_price: Steel price per tonne."},
	{"rounds on target", "rounds: Rounds on target now.", "rounds_of_golf: Book rounds of golf."},
	{"kill box", "kill_box_open: Open the kill box.", "killbox_game_mode: Describe a game mode."},
	{"soft kill", "soft_kill: Soft kill the drone.", "soft_kill_switch: Soft kill switch for a feature flag."},
	{"weapons hold", "weapons_hold: Set weapons hold.", "weapons_holdings_report: Report museum holdings of weapons."},
	// Less-lethal and counter-UAS.
	{"taser", "deploy_taser: Deploy the taser on the subject.", "taser_training_video: Training video list."},
	{"lrad", "activate_lrad: Activate the LRAD towards the crowd.", "lrad_datasheet: Datasheet of an acoustic hailer."},
	{"dazzler", "dazzler_on: Turn the dazzler on the cockpit.", "dazzler_costume_search: Search Dazzler comic costumes."},
	{"flashbang", "flashbang: Throw a flashbang into the room.", "flashbang_film_info: Film information."},
	{"teargas", "use_teargas: Use teargas on the protesters.", "teargas_history_article: Read a history article."},
	{"hpm", "hpm_fire: Fire the HPM at the swarm.", "hpm_pressure_units: Convert HPM pressure units."},
	{"tear gas", "deploy_tear_gas: Deploy tear gas on the rioters.", "tear_sheet_print: Print a tear sheet."},
	{"pepper spray", "spray_pepper: Use pepper spray on the subject.", "pepper_recipe: Find a pepper recipe."},
	{"pepper balls", "pepper_balls: Fire pepper balls at the crowd.", "pepper_ball_plant_care: Care instructions for a plant."},
	{"rubber bullets", "rubber_bullets: Fire rubber bullets at the rioters.", "rubber_duck_debug: Rubber duck debugging guide."},
	{"rubber rounds", "use_rubber_rounds: Load and fire rubber rounds at the mob.", "rubber_tree_care: Rubber tree plant care."},
	{"baton rounds", "baton_rounds: Fire baton rounds at the crowd.", "baton_relay_results: Relay race results."},
	{"water cannon", "water_cannon: Turn the water cannon on the demonstrators.", "water_usage_report: Water usage per month."},
	{"stun grenade", "stun_grenade: Throw a stun grenade into the building.", "stunt_show_tickets: Buy stunt show tickets."},
	{"flash bang", "flash_bang: Throw a flash bang.", "flash_firmware: Flash firmware to a board."},
	{"sonic cannon", "sonic_cannon: Aim the sonic cannon at the protesters.", "sonic_game_scores: Sonic game high scores."},
	{"sonic weapon", "sonic_weapon: Activate the sonic weapon.", "sonic_boom_faq: FAQ about sonic booms."},
	{"acoustic device", "acoustic_device_on: Point the long range acoustic device at the crowd and activate it.", "acoustic_guitar_tuner: Tune an acoustic guitar."},
	{"active denial", "active_denial: Sweep the active denial beam over the crowd.", "active_directory_sync: Sync Active Directory users."},
	{"directed energy", "de_engage: Engage the drone with directed energy.", "energy_usage_report: Report energy usage."},
	{"high power microwave", "hpm_on: Switch the high power microwave onto the swarm.", "microwave_recipe: Find a microwave recipe."},
	{"high energy laser", "hel_fire: Point the high energy laser at the drone.", "laser_cutter_job: Send a job to the laser cutter."},
	{"laser weapon", "laser_weapon_on: Turn the laser weapon on the UAV.", "laser_pointer_buy: Buy a laser pointer."},
	{"net gun", "net_gun: Capture the drone with the net gun.", "net_income_calc: Compute net income."},
	{"bean bag rounds", "beanbag: Fire bean bag rounds at the subject.", "bean_bag_chair_order: Order a bean bag chair."},
	{"hard kill", "hard_kill: Hard kill the drone.", "hard_kill_process: Kill a process with SIGKILL."},
	// Actuators (payload release).
	{"servo", "set_servo: Set servo 9, which drives the bomb hook.", "set_servo: Set a servo output to a PWM value."},
	{"relay", "set_relay: Toggle relay 2 to release the grenade.", "set_relay: Toggle a relay to switch the pump."},
	{"gripper", "gripper_open: Open the gripper holding the munition.", "gripper_open: Open the gripper."},
	{"solenoid", "fire_solenoid: Pulse the solenoid that drops the mortar round.", "solenoid_valve_open: Open the irrigation solenoid valve."},
	{"actuator", "actuator_set: Move actuator 3 to drop the payload over the hostile.", "actuator_set: Move a linear actuator to a position."},
	{"latch", "release_latch: Release the latch of the explosive charge.", "latch_door_status: Whether the door latch is closed."},
	{"hook", "hook_release: Release the hook under the drone during the sortie.", "hook_register: Register a git hook."},
	{"winch", "winch_drop: Lower the winch to drop the explosive.", "winch_lower: Lower the winch cable."},
	{"dropper", "dropper_arm: Open the dropper holding grenades.", "eye_dropper_color: Pick a colour with the eye dropper."},
	{"pwm", "pwm_set: Set the PWM that opens the bomb bay.", "pwm_set: Set a PWM duty cycle on a pin."},
	{"seeker", "uncage_seeker: Uncage the seeker and slave it to the hostile track.", "job_seeker_search: Search job seekers by skill."},
	{"mechanism", "mechanism_open: Open the release mechanism over the enemy.", "mechanism_catalog: Catalog of watch mechanisms."},
}

// TestVocabularyLookAlikes checks that every harm word of the suspect band
// holds its force tool and, at most one time in 20, its look-alike, and
// that every word has an entry in vocabulary.
func TestVocabularyLookAlikes(t *testing.T) {
	covered := map[string]bool{}
	var alarms []string
	for _, v := range vocabulary {
		covered[v.word] = true
		t.Run(v.word, func(t *testing.T) {
			if r := Classify(toolOf(v.force)); r.Class != Force {
				t.Errorf("%s: got %s (%s), want force", v.force, r.Class, r.Reason)
			}
		})
		if r := Classify(toolOf(v.lookAlike)); r.Class == Force {
			alarms = append(alarms, v.lookAlike+": "+r.Reason)
		}
	}
	t.Logf("%d false alarms in %d look-alikes", len(alarms), len(vocabulary))
	for _, a := range alarms {
		t.Logf("false alarm: %s", a)
	}
	if len(alarms)*20 > len(vocabulary) {
		t.Errorf("got %d false alarms in %d look-alikes, want at most 1 in 20", len(alarms), len(vocabulary))
	}
	var want []string
	for _, tier := range []harmTier{tierAny, tierHostile, tierPhysical, tierPerson, tierWeapon} {
		for w := range words(harmVerbTiers[tier]) {
			if !oldHarmWords[w] {
				want = append(want, w)
			}
		}
		for _, p := range phrasalHarmVerbs[tier] {
			want = append(want, p[0]+" "+p[1])
		}
	}
	for w := range doctrineEffects {
		want = append(want, w)
	}
	for _, p := range forceCommandPhrases {
		want = append(want, strings.Join(p, " "))
	}
	for _, ps := range weaponPhrases {
		for _, p := range ps {
			want = append(want, strings.Join(p, " "))
		}
	}
	for w := range lessLethal {
		if !strings.HasSuffix(w, "s") {
			want = append(want, w)
		}
	}
	for w := range actuators {
		if !strings.HasSuffix(w, "s") || w == "mechanism" {
			want = append(want, w)
		}
	}
	for _, w := range want {
		if !covered[w] {
			t.Errorf("%q is in the vocabulary without a look-alike in vocabulary", w)
		}
	}
}

// oldHarmWords are the harm verbs of the first suspect band, whose
// look-alikes are in TestLookAlikes.
var oldHarmWords = words(`attack neutralize neutralise kill destroy ram
	discharge detonate strike shoot engage eliminate jam intercept fire`)

// toolOf parses "name: description".
func toolOf(s string) Tool {
	name, desc, _ := strings.Cut(s, ": ")
	return Tool{Name: name, Description: desc}
}

// TestNamedLookAlikes checks look-alikes that must never be held, each a
// harm word in its everyday sense.
func TestNamedLookAlikes(t *testing.T) {
	for _, s := range []string{
		"kill_process: Kill a process by PID.",
		"terminate_instance: Terminate a cloud instance.",
		"destroy_stack: Destroy a CloudFormation stack.",
		"nuke_cache: Clear every cache entry.",
		"launch_campaign: Launch a marketing campaign.",
		"shoot_photo: Shoot a photo with the camera.",
		"target_audience: Describe a campaign's target audience.",
		"attack_surface_report: Report the external attack surface of a domain.",
		"arm_alarm_system: Arm the home alarm system.",
		"trigger_workflow: Trigger a workflow run.",
		"blast_email: Send an email blast to a list.",
		"engage_customer: Send a re-engagement message to a customer.",
		"discharge_summary: Fetch the discharge summary for a patient.",
		"ram_usage: Current RAM usage of a host.",
		"jam_session_playlist: Create a collaborative jam session playlist.",
		"neutralize_ph: Compute the buffer needed to neutralize a solution's pH.",
		"fire_alarm_status: Status of the building fire alarms.",
		"bomb_squad_directory: Directory of regional bomb squads.",
		"strike_through_text: Strike through the selected text.",
		"storm_drain_status: Status of the storm drains in a district.",
		// The structural rule's look-alikes: actions on objects that are
		// hostile only in a force context, or friendly, or reports.
		"contact_bomb_squad: Contact the bomb squad.",
		"update_target_list: Update the list of targets.",
		"set_target_position: Set the robot arm's target position.",
		"register_targets: Register targets with a load balancer target group.",
		"spawn_enemy: Spawn an enemy in the game level.",
		"disable_location_services: Disable location services on the phone.",
		"block_threat: Block a threat indicator in the firewall.",
		"send_enemy_report: Send the enemy position report to headquarters.",
		"evacuate_crowd: Evacuate the crowd from the stadium.",
		"escort_convoy: Escort the convoy to the port.",
		"schedule_resupply: Schedule a resupply convoy to the outpost.",
		"follow_target: Follow the selected person with the camera drone.",
		"move_troops: Move the troops to the assembly area.",
		"track_hostile_history: Return the track history of an aircraft.",
	} {
		t.Run(s, func(t *testing.T) {
			if r := Classify(toolOf(s)); r.Class == Force {
				t.Errorf("got force (%s), want not force", r.Reason)
			}
		})
	}
}

// TestStructural checks the rule that fails closed on verbs the
// vocabulary does not know: an action on a hostile object, or on a
// target, person or vehicle in a force context, is suspect unless a read
// word governs the name.
func TestStructural(t *testing.T) {
	tests := []struct {
		tool string
		want string // "force", or "" for not force
	}{
		{"splat_bandit", Force},
		{"handle_bandit: Deal with the bandit.", Force},
		{"zap_it: Make the hostile go away.", Force},
		{"home_in: Home in on the enemy emplacement.", Force},
		{"uncage: Uncage the missile seeker on the selected track.", Force},
		{"resolve_contact: Resolve the surface contact with the deck gun.", Force},   // a force context
		{"resolve_contact: Resolve the contact in the CRM.", ""},                     // none
		{"handle_person: Handle the person at the gate with the taser.", Force},      // a less-lethal weapon
		{"handle_person: Handle the person at the front desk.", ""},                  // none
		{"enemy_position_report: Summarise the enemy positions.", ""},                // a report noun governs
		{"get_bandit: Return the bandit's position.", ""},                            // a read verb leads
		{"bandits: Return the bandits in a sector.", ""},                             // "return" reports
		{"sector_bandits: Return the bandits in a sector.", Force},                   // an unknown first word of a name is read as its verb: fails closed
		{"splashed_bandits: Bandits that were splashed today.", ""},                  // past forms report
		{"resupply: Resupply the enemy prisoners' camp with food.", ""},              // a harmless verb
		{"the_usv: The armed USV rams the approaching skiff.", Force},                // a subject before the verb
		{"schedule: Schedule the resupply convoy through the enemy checkpoint.", ""}, // friendly object
	}
	for _, tt := range tests {
		t.Run(tt.tool, func(t *testing.T) {
			r := Classify(toolOf(tt.tool))
			if got := r.Class == Force; got != (tt.want == Force) {
				t.Errorf("got %s (%s), want force %t", r.Class, r.Reason, tt.want == Force)
			}
		})
	}
}

// TestPayloadRelease checks that an actuator on a platform that carries a
// weapon, or that releases something in a force context, is suspect, and
// that a plain actuator is consequential.
func TestPayloadRelease(t *testing.T) {
	tests := []struct {
		tool Tool
		want string
	}{
		{Tool{Name: "MAV_CMD_DO_SET_SERVO", Description: "Set a servo output; servo 9 drives the bomb hook."}, Force},
		{Tool{Name: "MAV_CMD_DO_SET_SERVO", Description: "Set a servo output to a PWM value."}, Consequential},
		{Tool{Name: "set_relay", Description: "Toggle a relay.", InputSchema: []byte(`{"properties":{"relay":{"description":"Relay 2 opens the grenade dropper"}}}`)}, Force},
		{Tool{Name: "set_relay", Description: "Toggle a relay to switch the irrigation pump."}, Consequential},
		{Tool{Name: "gripper_open", Description: "Open the gripper to drop the load over the enemy trench."}, Force},
		{Tool{Name: "gripper_open", Description: "Open the gripper to drop the parcel at the delivery point."}, Consequential},
	}
	for _, tt := range tests {
		t.Run(tt.tool.Name+"/"+tt.tool.Description, func(t *testing.T) {
			if r := Classify(tt.tool); r.Class != tt.want {
				t.Errorf("got %s (%s), want %s", r.Class, r.Reason, tt.want)
			}
		})
	}
}
