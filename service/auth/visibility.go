package auth

import (
	"context"
)

// maxReportDepth bounds the walk down a management chain (and any cycle in it).
const maxReportDepth = 20

// Directory is what Visible reads of the recruiters directory
// (*directory.Store from interactions/directory).
type Directory interface {
	// Reports returns the ids of the recruiters whose manager_id is one of managerIDs.
	Reports(ctx context.Context, managerIDs []string) ([]string, error)
}

// Visible returns the recruiter ids a recruiter key may see: its own and those of
// every recruiter whose manager_id chain reaches it, from the recruiters directory.
func Visible(ctx context.Context, dir Directory, recruiterID string) ([]string, error) {
	seen := map[string]bool{recruiterID: true}
	out := []string{recruiterID}
	frontier := []string{recruiterID}
	for depth := 0; depth < maxReportDepth && len(frontier) > 0; depth++ {
		reports, err := dir.Reports(ctx, frontier)
		if err != nil {
			return nil, err
		}
		frontier = nil
		for _, id := range reports {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
				frontier = append(frontier, id)
			}
		}
	}
	return out, nil
}
