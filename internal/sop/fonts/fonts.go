// Package fonts holds the typeface of the SOP documents and their charts:
// DejaVu Sans, regular and bold (Bitstream Vera licence, see LICENSE),
// embedded in the binary so that a PDF never depends on the fonts of the
// host that made it, and covers the Latin, Greek, Cyrillic and other scripts
// in which names in the records may be written.
package fonts

import _ "embed"

// Family is the name the documents use for the typeface.
const Family = "DejaVuSans"

//go:embed DejaVuSans.ttf
var regular []byte

//go:embed DejaVuSans-Bold.ttf
var bold []byte

// Regular returns the TrueType data of DejaVu Sans. The slice is shared:
// callers must not modify it.
func Regular() []byte { return regular }

// Bold returns the TrueType data of DejaVu Sans Bold, shared like Regular.
func Bold() []byte { return bold }
