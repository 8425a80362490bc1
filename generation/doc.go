// Package generation drafts the words Belong shows members and keeps them until a
// person approves them.
//
// A Generator turns a Request (a kind, a locale, facts about a community and, for a
// recognition, a member's first name and occasion) into a Body. Template is the
// offline default (English, Swedish, Italian); OpenAI uses any OpenAI-compatible chat
// completions endpoint with a JSON-schema response format. Drafting generates, falls
// back to the templates when the model fails, runs the Guardrails and stores the
// draft; Edit, Decide and History are the review workflow, and Approved is the only
// way content reaches members. A badge's body names one of Emblems and Symbols, and
// Emblem draws it as SVG in a community's colours (Palette).
package generation
