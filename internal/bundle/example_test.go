package bundle_test

import (
	"errors"
	"fmt"
	"log"
	"time"

	"github.com/brightline/brightline/internal/bundle"
)

// Two parties, an operator and a vendor, sign a bundle in turn; a deployment
// that requires both accepts it, and refuses it with only one signature.
func Example() {
	opKey, opVerifier, err := bundle.GenerateKey("operator")
	if err != nil {
		log.Fatal(err)
	}
	vendorKey, vendorVerifier, err := bundle.GenerateKey("vendor")
	if err != nil {
		log.Fatal(err)
	}

	policy := []byte("safeguards: []\n")
	activate := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	text := bundle.NewManifest(policy, 7, activate).Text()

	byOperator, err := bundle.Sign([]byte(text), opKey)
	if err != nil {
		log.Fatal(err)
	}
	byBoth, err := bundle.Sign(byOperator, vendorKey)
	if err != nil {
		log.Fatal(err)
	}

	trust := bundle.Trust{Keys: []string{opVerifier, vendorVerifier}, Threshold: 2}
	now := activate.Add(time.Minute)

	_, err = bundle.Verify(policy, byOperator, trust, 6, now)
	if te, ok := errors.AsType[*bundle.ThresholdError](err); ok {
		fmt.Printf("refused: %d of %d signatures\n", len(te.Have), te.Need)
	}

	v, err := bundle.Verify(policy, byBoth, trust, 6, now)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("accepted version %d signed by %v\n", v.Manifest.Version, v.Signers)
	// Output:
	// refused: 1 of 2 signatures
	// accepted version 7 signed by [operator vendor]
}
