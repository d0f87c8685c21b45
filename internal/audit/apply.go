package audit

import (
	"time"

	"github.com/vllmctl/vllmctl/internal/archive"
)

// Archived is one file Apply moved: from Original (relative to the root) to
// Dest (the dated archive folder and the file's path inside it).
type Archived struct {
	Original string
	Dest     string
}

// Apply archives every file the report marks ActionArchive, one at a time,
// with the reason "audit: <the file's reason>"; the file's folder is kept
// inside the dated archive folder. It stops at the first file that cannot be
// moved and returns what it moved before, with the error.
func Apply(rep Report, st archive.Store, now func() time.Time) ([]Archived, error) {
	var out []Archived
	for _, f := range rep.Files {
		if f.Action != ActionArchive {
			continue
		}
		at := now()
		done, err := st.Move([]archive.Request{{Path: f.Path, Profile: f.Group}}, "audit: "+f.Reason, "", at, false)
		if err != nil {
			return out, err
		}
		for _, d := range done {
			out = append(out, Archived{Original: d.Original, Dest: st.Folder(at) + "/" + d.File})
		}
	}
	return out, nil
}
