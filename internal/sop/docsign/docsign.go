// Package docsign makes and checks the detached signatures of the SOP's
// documents (report ... --sign): a small text file beside the document,
// FILE.sig, holding an ed25519 signature over the document's bytes and
// the key that made it.
//
// It proves that the bytes are those the holder of the key signed, and
// nothing else: it is not a certified electronic signature (UU ITE, PP
// 71/2019), which the signatories of a document make themselves.
package docsign

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/lpse/cadang/internal/sop/sigkey"
)

// sigContext is signed in front of the document's bytes, so that a
// document signature can never be taken for a run-log record's.
const sigContext = "cadang document v1\x00"

// header is the first line of a signature file.
const header = "cadang document signature v1"

// Signature is a parsed signature file.
type Signature struct {
	// Name is the document's file name when it was signed (informative:
	// a renamed document still verifies).
	Name string
	// Size and SHA256 describe the signed bytes; they let Verify say
	// whether the document or the signature is what changed.
	Size   int64
	SHA256 string
	Key    ed25519.PublicKey
	Sig    []byte
}

// Fingerprint is the fingerprint of the signing key.
func (s *Signature) Fingerprint() string { return sigkey.Fingerprint(s.Key) }

// Sign returns the signature file of doc, made with k; name is the
// document's file name.
func Sign(k ed25519.PrivateKey, name string, doc []byte) []byte {
	sum := sha256.Sum256(doc)
	sig := ed25519.Sign(k, append([]byte(sigContext), doc...))
	pub := sigkey.Public(k)
	var b bytes.Buffer
	fmt.Fprintln(&b, header)
	fmt.Fprintf(&b, "file: %s\n", strings.ReplaceAll(name, "\n", " "))
	fmt.Fprintf(&b, "size: %d\n", len(doc))
	fmt.Fprintf(&b, "sha256: %x\n", sum)
	fmt.Fprintf(&b, "key: %s\n", sigkey.EncodePublic(pub))
	fmt.Fprintf(&b, "fingerprint: %s\n", sigkey.Fingerprint(pub))
	fmt.Fprintf(&b, "signature: %s\n", base64.StdEncoding.EncodeToString(sig))
	return b.Bytes()
}

// Parse reads a signature file.
func Parse(b []byte) (*Signature, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	if !sc.Scan() || strings.TrimSpace(sc.Text()) != header {
		return nil, fmt.Errorf("not a cadang document signature (the first line is not %q)", header)
	}
	s := &Signature{}
	var fp string
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		var err error
		switch k {
		case "file":
			s.Name = v
		case "size":
			s.Size, err = strconv.ParseInt(v, 10, 64)
		case "sha256":
			s.SHA256 = v
		case "key":
			s.Key, err = sigkey.ParsePublic(v)
		case "fingerprint":
			fp = v
		case "signature":
			s.Sig, err = base64.StdEncoding.DecodeString(v)
		}
		if err != nil {
			return nil, fmt.Errorf("signature file, %s: %w", k, err)
		}
	}
	switch {
	case s.Key == nil:
		return nil, errors.New("signature file names no key")
	case len(s.Sig) != ed25519.SignatureSize:
		return nil, errors.New("signature file holds no 64-byte signature")
	case fp != "" && fp != sigkey.Fingerprint(s.Key):
		return nil, fmt.Errorf("signature file: fingerprint %s is not that of its key (%s)", fp, sigkey.Fingerprint(s.Key))
	}
	return s, nil
}

// ErrMismatch is wrapped by Verify when the signature does not hold.
var ErrMismatch = errors.New("the signature does not match the document")

// Verify checks the signature file sigFile against doc. It says only
// that the key named in the file signed these bytes; whether that key is
// one to trust is the caller's question (Signature.Key).
func Verify(doc, sigFile []byte) (*Signature, error) {
	s, err := Parse(sigFile)
	if err != nil {
		return nil, err
	}
	if ed25519.Verify(s.Key, append([]byte(sigContext), doc...), s.Sig) {
		return s, nil
	}
	sum := sha256.Sum256(doc)
	if s.SHA256 != "" && s.SHA256 != hex.EncodeToString(sum[:]) {
		return s, fmt.Errorf("%w: the document was changed after it was signed (%d bytes, SHA-256 %x; signed: %d bytes, %s)", ErrMismatch, len(doc), sum, s.Size, s.SHA256)
	}
	return s, fmt.Errorf("%w: the signature file was altered", ErrMismatch)
}
