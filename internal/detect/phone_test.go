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
		if got := v.valid(strconv.FormatUint(nn, 10)); got != want {
			t.Fatalf("valid(%d) got %v, want %v (libphonenumber)", nn, got, want)
		}
	}
	t.Logf("%d of %d valid", valid, n)
	if valid < n/20 {
		t.Errorf("got %d valid numbers of %d, want more to test the valid side", valid, n)
	}
}

// TestRegionPhoneMatchesLibrary does the same for other regions, including
// one with several regions to its country code (GB) and one whose numbers
// keep a leading zero (IT).
func TestRegionPhoneMatchesLibrary(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, region := range []string{"GB", "FR", "DE", "IT", "IN", "BR", "CA", "AU", "JP", "NG"} {
		v := regionPhone(region)
		if v == nil {
			t.Fatalf("%s: couldn't read the metadata", region)
		}
		cc := int32(phonenumbers.GetCountryCodeForRegion(region))
		if int(cc) != v.cc {
			t.Fatalf("%s: country code %d, want %d", region, v.cc, cc)
		}
		valid := 0
		for k := range 20000 {
			digits := 6 + r.IntN(7)
			if k%5 == 0 {
				digits = 1 + r.IntN(maxNSN)
			}
			var nn uint64
			for range digits {
				nn = nn*10 + uint64(r.IntN(10))
			}
			num := &phonenumbers.PhoneNumber{CountryCode: &cc, NationalNumber: &nn}
			if k%3 == 0 {
				lz, zeros := true, int32(1)
				num.ItalianLeadingZero, num.NumberOfLeadingZeros = &lz, &zeros
			}
			want := phonenumbers.IsValidNumberForRegion(num, region)
			if want {
				valid++
			}
			if got := v.valid(phonenumbers.GetNationalSignificantNumber(num)); got != want {
				t.Fatalf("%s: valid(%q) got %v, want %v (libphonenumber)", region, phonenumbers.GetNationalSignificantNumber(num), got, want)
			}
		}
		t.Logf("%s: %d of 20000 valid", region, valid)
	}
}
