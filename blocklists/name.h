/*
 * Domain names: the wire form (length-prefixed labels, no compression pointers, the root
 * label last) and the presentation form (RFC 1035 section 5.1 text).
 *
 * The wire form is the one to decide on. Any byte is legal in a wire label, and a label
 * of 63 bytes such as "\255" x 63 takes 252 characters to write out, so a text form
 * either grows past every limit a name has or cannot be told apart from another name
 * ("a\.b" is one label, "a.b" two). wardd hands the policy and the category database the
 * lower-cased wire name of the question; `ward lookup` turns its argument into one with
 * ward_name_from_text() and asks the same functions.
 */
#ifndef WARD_NAME_H
#define WARD_NAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "blocklists/dns_codes.h"

/* The longest presentation form of a wire name, every byte escaped as \DDD, plus NUL. */
#define WARD_NAME_TEXT_MAX (WARD_WIRE_NAME_MAX * 4 + 1)

/*
 * Length of an uncompressed wire name, the root label included, reading at most
 * WARD_WIRE_NAME_MAX bytes. @return the length, or 0 when the name is not one: a label
 * length above 63 (a compression pointer or an extended label type) or more than 255
 * bytes before the root.
 */
size_t ward_name_wire_len(const uint8_t *wire);

/* Lower-case the ASCII letters of a valid wire name in place (other bytes stay). */
void ward_name_lower(uint8_t *wire);

/*
 * Presentation form of a wire name ("www.example.com", "." for the root), with
 * non-printable bytes escaped as \DDD and '.' or '\' in a label as \. and \\. Output
 * that does not fit is cut before the character that does not fit; a buffer of
 * WARD_NAME_TEXT_MAX always holds the whole name.
 * @return length written (buf always terminated when cap > 0).
 */
size_t ward_name_to_text(const uint8_t *wire, char *buf, size_t cap);

/* Wire form of a presentation name (with or without trailing dot; case kept; \DDD and
 * \X escapes understood; "." is the root, "" is invalid).
 * @return wire length, or 0 if invalid (label > 63, name > 255, empty label). */
size_t ward_name_from_text(const char *text, uint8_t *wire, size_t cap);

/*
 * A name with non-ASCII characters as browsers look it up, in ASCII: libidn2 maps it
 * (UTS #46: case, full-width and circled forms, compatibility characters, after NFC, so
 * an NFD "bu\u0308cher" is "bücher"), and converts each label to its A-label under
 * IDNA2008, non-transitional ("ß" stays "ß"). Feeds, the config and `ward lookup` all
 * convert with this. The result still needs the caller's ASCII rules (length, labels).
 * @param in   UTF-8, len bytes (at most WARD_NAME_IDN_INPUT_MAX), no NUL
 * @return the length of the ASCII name written to out (NUL-terminated), or -1 (not
 *         UTF-8, a code point IDNA2008 disallows, a hyphen rule, too long for cap).
 */
#define WARD_NAME_IDN_INPUT_MAX 1024
int ward_name_idn_to_ascii(const char *in, size_t len, char *out, size_t cap);

#endif
