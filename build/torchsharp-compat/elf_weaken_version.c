/* Marks one version need (e.g. GLIBCXX_3.4.32) in an ELF64 shared library as weak (VER_FLG_WEAK),
 * so the dynamic loader accepts an older library that lacks it. Edits the file in place.
 * Usage: elf_weaken_version FILE VERSION_NAME   (exit 0: marked or already weak; 3: not found) */
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(const char *what, const char *file) {
    fprintf(stderr, "elf_weaken_version: %s: %s\n", file, what);
    return 1;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: elf_weaken_version FILE VERSION_NAME\n"); return 2; }
    const char *path = argv[1], *want = argv[2];
    FILE *f = fopen(path, "r+b");
    if (!f) return fail("cannot open", path);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) return fail("cannot read", path);

    Elf64_Ehdr *eh = (Elf64_Ehdr *)buf;
    if (memcmp(eh->e_ident, ELFMAG, SELFMAG) != 0 || eh->e_ident[EI_CLASS] != ELFCLASS64)
        return fail("not an ELF64 file", path);
    Elf64_Shdr *sh = (Elf64_Shdr *)(buf + eh->e_shoff);
    for (int i = 0; i < eh->e_shnum; i++) {
        if (sh[i].sh_type != SHT_GNU_verneed) continue;
        const char *strtab = (const char *)(buf + sh[sh[i].sh_link].sh_offset);
        Elf64_Off off = sh[i].sh_offset;
        for (unsigned n = 0; n < sh[i].sh_info; n++) {
            Elf64_Verneed *vn = (Elf64_Verneed *)(buf + off);
            Elf64_Off aoff = off + vn->vn_aux;
            for (unsigned a = 0; a < vn->vn_cnt; a++) {
                Elf64_Vernaux *va = (Elf64_Vernaux *)(buf + aoff);
                if (strcmp(strtab + va->vna_name, want) == 0) {
                    va->vna_flags |= VER_FLG_WEAK;
                    fseek(f, (long)((unsigned char *)&va->vna_flags - buf), SEEK_SET);
                    fwrite(&va->vna_flags, sizeof va->vna_flags, 1, f);
                    fclose(f);
                    return 0;
                }
                aoff += va->vna_next;
            }
            off += vn->vn_next;
        }
    }
    fclose(f);
    fprintf(stderr, "elf_weaken_version: %s: no version need named %s\n", path, want);
    return 3;
}
