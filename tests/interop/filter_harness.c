/* Differential-test peer for src/UsbRedir.Core/Filtering: runs libusbredirparser's usbredirfilter functions on
 * commands read from stdin, one per line, and prints one result line per command. Strings travel as hex
 * ("x" followed by two hex digits per byte; "x" alone is the empty string) so any byte survives.
 *
 *   P <text> <token_sep> <rule_sep>          string_to_rules; then rules_to_string with the same separators
 *        -> "rc=<rc> n=<count> rules=<c,v,p,b,a;...> fmt=<hex|NULL>"   (a printed as 0/1)
 *   F <token_sep> <rule_sep> <n> (c v p b a)*n   rules_to_string            -> "fmt=<hex|NULL>"
 *   V <n> (c v p b a)*n                         verify                     -> "rc=<rc>"
 *   C <flags> <n> (c v p b a)*n <class> <subclass> <protocol> <ifaces> (c s p)*ifaces <vid> <pid> <bcd>
 *                                               check                      -> "rc=<rc>"
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <usbredirfilter.h>

static char *next_field(char **cursor)
{
    char *f = strsep(cursor, " ");
    if (!f) {
        fprintf(stderr, "filter_harness: truncated command\n");
        exit(2);
    }
    return f;
}

static char *unhex(const char *h)
{
    size_t n = strlen(h + 1) / 2, i;
    char *s = malloc(n + 1);
    if (h[0] != 'x') {
        fprintf(stderr, "filter_harness: bad string field '%s'\n", h);
        exit(2);
    }
    for (i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 1 + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = '\0';
    return s;
}

static void print_hex(const char *s)
{
    putchar('x');
    for (; *s; s++)
        printf("%02x", (unsigned char)*s);
}

static int next_int(char **cursor)
{
    return (int)strtol(next_field(cursor), NULL, 10);
}

static struct usbredirfilter_rule *read_rules(char **cursor, int *n)
{
    int i;
    struct usbredirfilter_rule *rules;
    *n = next_int(cursor);
    rules = calloc(*n + 1, sizeof(*rules));
    for (i = 0; i < *n; i++) {
        rules[i].device_class = next_int(cursor);
        rules[i].vendor_id = next_int(cursor);
        rules[i].product_id = next_int(cursor);
        rules[i].device_version_bcd = next_int(cursor);
        rules[i].allow = next_int(cursor);
    }
    return rules;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;

    while ((len = getline(&line, &cap, stdin)) > 0) {
        char *cursor = line;
        char *op;
        if (line[len - 1] == '\n')
            line[len - 1] = '\0';
        op = next_field(&cursor);
        if (strcmp(op, "P") == 0) {
            char *text = unhex(next_field(&cursor));
            char *tsep = unhex(next_field(&cursor));
            char *rsep = unhex(next_field(&cursor));
            struct usbredirfilter_rule *rules = NULL;
            int n = 0, i, rc;
            rc = usbredirfilter_string_to_rules(text, tsep, rsep, &rules, &n);
            if (rc != 0)
                n = 0;
            printf("rc=%d n=%d rules=", rc, n);
            for (i = 0; i < n; i++)
                printf("%s%d,%d,%d,%d,%d", i ? ";" : "", rules[i].device_class, rules[i].vendor_id,
                       rules[i].product_id, rules[i].device_version_bcd, rules[i].allow ? 1 : 0);
            printf(" fmt=");
            if (rc == 0) {
                char *s = usbredirfilter_rules_to_string(rules, n, tsep, rsep);
                if (s)
                    print_hex(s);
                else
                    printf("NULL");
                usbredirfilter_free(s);
            } else {
                printf("NULL");
            }
            putchar('\n');
            usbredirfilter_free(rules);
            free(text);
            free(tsep);
            free(rsep);
        } else if (strcmp(op, "F") == 0) {
            char *tsep = unhex(next_field(&cursor));
            char *rsep = unhex(next_field(&cursor));
            int n;
            struct usbredirfilter_rule *rules = read_rules(&cursor, &n);
            char *s = usbredirfilter_rules_to_string(rules, n, tsep, rsep);
            printf("fmt=");
            if (s)
                print_hex(s);
            else
                printf("NULL");
            putchar('\n');
            usbredirfilter_free(s);
            free(rules);
            free(tsep);
            free(rsep);
        } else if (strcmp(op, "V") == 0) {
            int n;
            struct usbredirfilter_rule *rules = read_rules(&cursor, &n);
            printf("rc=%d\n", usbredirfilter_verify(rules, n));
            free(rules);
        } else if (strcmp(op, "C") == 0) {
            int flags = next_int(&cursor), n, count, i;
            struct usbredirfilter_rule *rules = read_rules(&cursor, &n);
            uint8_t cls = next_int(&cursor), sub = next_int(&cursor), proto = next_int(&cursor);
            uint8_t *ic, *is, *ip;
            uint16_t vid, pid, bcd;
            count = next_int(&cursor);
            ic = calloc(count + 1, 1);
            is = calloc(count + 1, 1);
            ip = calloc(count + 1, 1);
            for (i = 0; i < count; i++) {
                ic[i] = next_int(&cursor);
                is[i] = next_int(&cursor);
                ip[i] = next_int(&cursor);
            }
            vid = next_int(&cursor);
            pid = next_int(&cursor);
            bcd = next_int(&cursor);
            printf("rc=%d\n", usbredirfilter_check(rules, n, cls, sub, proto, ic, is, ip, count, vid, pid, bcd, flags));
            free(rules);
            free(ic);
            free(is);
            free(ip);
        } else {
            fprintf(stderr, "filter_harness: unknown command '%s'\n", op);
            return 2;
        }
    }
    free(line);
    fflush(stdout);
    return 0;
}
