package service

import "maps"

// mergePatch applies an RFC 7396 JSON merge patch to target, both decoded JSON values
// (as encoding/json decodes into any), and returns the result: an object in the patch
// merges member by member into the target's object (a member whose value is null is
// removed), anything else replaces the target whole. target is not changed.
func mergePatch(target, patch any) any {
	p, ok := patch.(map[string]any)
	if !ok {
		return patch
	}
	t, ok := target.(map[string]any)
	if ok {
		t = maps.Clone(t)
	} else {
		t = map[string]any{}
	}
	for k, v := range p {
		if v == nil {
			delete(t, k)
			continue
		}
		t[k] = mergePatch(t[k], v)
	}
	return t
}
