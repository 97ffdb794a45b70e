package detect

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/nyaruka/phonenumbers"
)

// TestUSPhoneMatchesLibrary checks the compiled US validator against
// libphonenumber's IsValidNumberForRegion on random numbers of every
// length, weighted to ten digits.
func TestUSPhoneMatchesLibrary(t *testing.T) {
	v := usPhone()
	if v == nil {
		t.Fatal("couldn't read the US metadata")
	}
	r := rand.New(rand.NewPCG(1, 2))
	n := 200000
	if testing.Short() {
		n = 20000
	}
	valid := 0
	for k := range n {
		digits := 10
		if k%4 == 0 {
			digits = 1 + r.IntN(maxNSN)
		}
		var nn uint64
		for range digits {
			nn = nn*10 + uint64(r.IntN(10))
		}
		cc := int32(1)
		num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
		want := phonenumbers.IsValidNumberForRegion(num, "US")
		if want {
			valid++
		}
		if got := v.valid(strconv.AppendUint(nil, nn, 10)); got != want {
			t.Fatalf("valid(%d) got %v, want %v (libphonenumber)", nn, got, want)
		}
	}
	t.Logf("%d of %d valid", valid, n)
	if valid < n/20 {
		t.Errorf("got %d valid numbers of %d, want more to test the valid side", valid, n)
	}
}
