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
		{Tool{Name: "disable_vehicle"}, `"disable"`},
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
