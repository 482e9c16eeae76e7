package runlog

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lpse/cadang/internal/sop/sigkey"
)

// The signatures of the run log are made over a context string followed by
// the signed bytes, so that a signature over a record can never be taken
// for one over a head or a document (package docsign), whatever the bytes.
const (
	recordSigContext = "cadang run-log record v1\x00"
	headSigContext   = "cadang run-log head v1\x00"
)

func signRecord(k ed25519.PrivateKey, raw []byte) string {
	return base64.StdEncoding.EncodeToString(ed25519.Sign(k, append([]byte(recordSigContext), raw...)))
}

// checkSig verifies sig (base64) over raw with the hex public key pub.
func checkSig(ctxStr, pub, sig string, raw []byte) error {
	k, err := sigkey.ParsePublic(pub)
	if err != nil {
		return err
	}
	s, err := base64.StdEncoding.DecodeString(sig)
	if err != nil || len(s) != ed25519.SignatureSize {
		return errors.New("the signature is not 64 bytes of base64")
	}
	if !ed25519.Verify(k, append([]byte(ctxStr), raw...), s) {
		return errors.New("the signature does not match the record's bytes")
	}
	return nil
}

// Head is the state of the local chain when it was last copied into a
// repository, kept there signed so that an older copy of the repository
// (a replayed backup medium, records deleted) can be told from a current
// one. Sync writes one per copy; a repository keeps them all, and the one
// with the highest Seq is its head.
type Head struct {
	Chain string `json:"chain"`
	// Seq and Hash are the last record of the local chain at the time,
	// whichever repository it concerns.
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	// RepositoryID is the repository the head was written into; Last is
	// the seq of the newest record of the chain that concerns it (0:
	// none), Count how many records of the chain up to Last concern it.
	RepositoryID string    `json:"repository_id"`
	Last         uint64    `json:"last"`
	Count        uint64    `json:"count"`
	Written      time.Time `json:"written"`
	// Signer is the public key (hex) whose signature the file carries.
	Signer string `json:"signer"`
}

func encodeHead(h *Head, k ed25519.PrivateKey) ([]byte, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(k, append([]byte(headSigContext), raw...)))
	out := make([]byte, 0, len(raw)+120)
	out = append(out, `{"head":`...)
	out = append(out, raw...)
	out = append(out, `,"sig":"`...)
	out = append(out, sig...)
	out = append(out, `"}`...)
	return out, nil
}

// keyring is the set of public keys a verification trusts: by hex, or by
// fingerprint without its colons (a record carries its signer's whole
// key, so naming it by a 128-bit fingerprint is as good).
type keyring map[string]bool

func (k keyring) add(s string) {
	s = strings.ToLower(strings.TrimSpace(s))
	k[strings.ReplaceAll(s, ":", "")] = true
}

func (k keyring) has(pub string) bool {
	pub = strings.ToLower(pub)
	return k[pub] || k[strings.ReplaceAll(Fingerprint(pub), ":", "")]
}

// Fingerprint returns the fingerprint of a hex public key as found in a
// record, or the text itself when it is not one.
func Fingerprint(pub string) string {
	k, err := sigkey.ParsePublic(pub)
	if err != nil {
		return pub
	}
	return sigkey.Fingerprint(k)
}

// sigState is what the signatures of one entry say.
type sigState int

const (
	sigNone     sigState = iota // no signature (a record from before signing)
	sigValid                    // signed, and the signature matches its signer
	sigInvalid                  // signed, but the signature does not match
	sigNoSigner                 // a signature without a signer, or the reverse
)

// sigState checks the entry's signatures, once: an entry is read and
// tested many times on each append and verify.
func (e *entry) sigState() (sigState, error) {
	if !e.sigDone {
		e.sigSt, e.sigErr = e.vc.check(e)
		e.sigDone = true
	}
	return e.sigSt, e.sigErr
}

func (e *entry) checkSignatures() (sigState, error) {
	signer := e.rec.Signer
	if e.isHead {
		signer = e.head.Signer
	}
	switch {
	case e.sig == "" && signer == "" && e.cosig == "" && e.rec.Cosigner == "":
		return sigNone, nil
	case e.sig == "" || signer == "":
		return sigNoSigner, errors.New("a signer without a signature, or a signature without a signer")
	}
	ctxStr := recordSigContext
	if e.isHead {
		ctxStr = headSigContext
	}
	if err := checkSig(ctxStr, signer, e.sig, e.raw); err != nil {
		return sigInvalid, err
	}
	if e.isHead {
		return sigValid, nil
	}
	if (e.cosig == "") != (e.rec.Cosigner == "") {
		return sigNoSigner, errors.New("a countersigner without a countersignature, or the reverse")
	}
	if e.cosig != "" {
		if err := checkSig(recordSigContext, e.rec.Cosigner, e.cosig, e.raw); err != nil {
			return sigInvalid, fmt.Errorf("countersignature: %w", err)
		}
	}
	return sigValid, nil
}
