// Package generation drafts the words Belong shows members: community profiles now;
// challenges and recognition messages as they arrive.
//
// A Generator turns facts about a subject into content. Template is the offline
// default and speaks English, Swedish and Italian. Every draft is stored with status
// "draft" and waits for a loyalty team's review: nothing unapproved is served.
package generation
