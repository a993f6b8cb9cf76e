// micropython32: run one script with MicroPython's core and its own collector.
//   micropython32 [-X heapsize=N] SCRIPT [ARGS...]     sys.path: SCRIPT's folder, MICROPYPATH
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "py/builtin.h"
#include "py/compile.h"
#include "py/gc.h"
#include "py/mperrno.h"
#include "py/objtuple.h"
#include "py/runtime.h"
#include "py/stackctrl.h"
#include "py/stream.h"
#include "shared/runtime/gchelper.h"

static void stderr_strn(void *env, const char *str, size_t len) {
    (void)env;
    ssize_t r = write(2, str, len);
    (void)r;
}
static const mp_print_t stderr_print = {NULL, stderr_strn};

void mp_hal_stdout_tx_strn(const char *str, size_t len) {
    ssize_t r = write(1, str, len);
    (void)r;
}
void mp_hal_stdout_tx_strn_cooked(const char *str, size_t len) {
    mp_hal_stdout_tx_strn(str, len);
}
void mp_hal_stdout_tx_str(const char *str) {
    mp_hal_stdout_tx_strn(str, strlen(str));
}

void gc_collect(void) {
    gc_collect_start();
    gc_helper_collect_regs_and_stack();
    gc_collect_end();
}

mp_import_stat_t mp_import_stat(const char *path) {
    struct stat st;
    if (stat(path, &st) == 0) {
        return S_ISDIR(st.st_mode) ? MP_IMPORT_STAT_DIR : MP_IMPORT_STAT_FILE;
    }
    return MP_IMPORT_STAT_NO_EXIST;
}

void nlr_jump_fail(void *val) {
    fprintf(stderr, "FATAL: uncaught NLR %p\n", val);
    exit(1);
}

// ---- open(): a read-only file with the stream protocol (read, readinto, close, with)

typedef struct {
    mp_obj_base_t base;
    int fd;
} file_obj_t;

static mp_uint_t file_read(mp_obj_t self_in, void *buf, mp_uint_t size, int *errcode) {
    file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    ssize_t n = read(self->fd, buf, size);
    if (n < 0) {
        *errcode = MP_EIO;
        return MP_STREAM_ERROR;
    }
    return n;
}

static mp_uint_t file_ioctl(mp_obj_t self_in, mp_uint_t request, uintptr_t arg, int *errcode) {
    file_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (request == MP_STREAM_CLOSE) {
        if (self->fd >= 0) {
            close(self->fd);
            self->fd = -1;
        }
        return 0;
    }
    if (request == MP_STREAM_SEEK) {
        struct mp_stream_seek_t *s = (struct mp_stream_seek_t *)arg;
        off_t off = lseek(self->fd, s->offset, s->whence);
        if (off < 0) {
            *errcode = MP_EIO;
            return MP_STREAM_ERROR;
        }
        s->offset = off;
        return 0;
    }
    *errcode = MP_EINVAL;
    return MP_STREAM_ERROR;
}

static mp_obj_t file___exit__(size_t n_args, const mp_obj_t *args) {
    file_obj_t *self = MP_OBJ_TO_PTR(args[0]);
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    return mp_const_none;
}
static MP_DEFINE_CONST_FUN_OBJ_VAR_BETWEEN(file___exit___obj, 4, 4, file___exit__);

static const mp_rom_map_elem_t file_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_read), MP_ROM_PTR(&mp_stream_read_obj) },
    { MP_ROM_QSTR(MP_QSTR_readinto), MP_ROM_PTR(&mp_stream_readinto_obj) },
    { MP_ROM_QSTR(MP_QSTR_seek), MP_ROM_PTR(&mp_stream_seek_obj) },
    { MP_ROM_QSTR(MP_QSTR_tell), MP_ROM_PTR(&mp_stream_tell_obj) },
    { MP_ROM_QSTR(MP_QSTR_close), MP_ROM_PTR(&mp_stream_close_obj) },
    { MP_ROM_QSTR(MP_QSTR___enter__), MP_ROM_PTR(&mp_identity_obj) },
    { MP_ROM_QSTR(MP_QSTR___exit__), MP_ROM_PTR(&file___exit___obj) },
};
static MP_DEFINE_CONST_DICT(file_locals_dict, file_locals_dict_table);

static const mp_stream_p_t file_stream_p = {
    .read = file_read,
    .ioctl = file_ioctl,
};

static MP_DEFINE_CONST_OBJ_TYPE(
    file_type,
    MP_QSTR_FileIO,
    MP_TYPE_FLAG_ITER_IS_STREAM,
    protocol, &file_stream_p,
    locals_dict, &file_locals_dict
    );

mp_obj_t mp_builtin_open(size_t n_args, const mp_obj_t *args, mp_map_t *kwargs) {
    const char *path = mp_obj_str_get_str(args[0]);
    int fd = open(path, O_RDONLY);
    if (fd < 0) {
        mp_raise_OSError(MP_ENOENT);
    }
    file_obj_t *o = mp_obj_malloc_with_finaliser(file_obj_t, &file_type);
    o->fd = fd;
    return MP_OBJ_FROM_PTR(o);
}
MP_DEFINE_CONST_FUN_OBJ_KW(mp_builtin_open_obj, 1, mp_builtin_open);

// ---- os: stat() and urandom(), what the library and the guest use

static mp_obj_t os_stat(mp_obj_t path_in) {
    struct stat st;
    if (stat(mp_obj_str_get_str(path_in), &st) != 0) {
        mp_raise_OSError(MP_ENOENT);
    }
    mp_obj_tuple_t *t = MP_OBJ_TO_PTR(mp_obj_new_tuple(10, NULL));
    t->items[0] = MP_OBJ_NEW_SMALL_INT(st.st_mode);
    for (int i = 1; i < 10; i++) {
        t->items[i] = MP_OBJ_NEW_SMALL_INT(0);
    }
    t->items[6] = mp_obj_new_int_from_uint(st.st_size);
    t->items[8] = mp_obj_new_int_from_uint(st.st_mtime);
    return MP_OBJ_FROM_PTR(t);
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_stat_obj, os_stat);

static mp_obj_t os_urandom(mp_obj_t n_in) {
    mp_int_t n = mp_obj_get_int(n_in);
    vstr_t vstr;
    vstr_init_len(&vstr, n);
    int fd = open("/dev/urandom", O_RDONLY);
    ssize_t got = fd < 0 ? -1 : read(fd, vstr.buf, n);
    if (fd >= 0) {
        close(fd);
    }
    if (got != n) {
        mp_raise_OSError(MP_EIO);
    }
    return mp_obj_new_bytes_from_vstr(&vstr);
}
static MP_DEFINE_CONST_FUN_OBJ_1(os_urandom_obj, os_urandom);

static const mp_rom_map_elem_t os_module_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_os) },
    { MP_ROM_QSTR(MP_QSTR_stat), MP_ROM_PTR(&os_stat_obj) },
    { MP_ROM_QSTR(MP_QSTR_urandom), MP_ROM_PTR(&os_urandom_obj) },
};
static MP_DEFINE_CONST_DICT(os_module_globals, os_module_globals_table);

const mp_obj_module_t mp_module_os = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&os_module_globals,
};
MP_REGISTER_MODULE(MP_QSTR_os, mp_module_os);

// ---- main

static int run_file(const char *path) {
    nlr_buf_t nlr;
    if (nlr_push(&nlr) == 0) {
        mp_lexer_t *lex = mp_lexer_new_from_file(qstr_from_str(path));
        qstr source_name = lex->source_name;
        mp_parse_tree_t pt = mp_parse(lex, MP_PARSE_FILE_INPUT);
        mp_obj_t f = mp_compile(&pt, source_name, false);
        mp_call_function_0(f);
        nlr_pop();
        return 0;
    }
    mp_obj_t exc = MP_OBJ_FROM_PTR(nlr.ret_val);
    if (mp_obj_is_subclass_fast(MP_OBJ_FROM_PTR(mp_obj_get_type(exc)),
                                MP_OBJ_FROM_PTR(&mp_type_SystemExit))) {
        mp_obj_t code = mp_obj_exception_get_value(exc);
        return code == mp_const_none ? 0 : mp_obj_is_small_int(code) ? MP_OBJ_SMALL_INT_VALUE(code) : 1;
    }
    mp_obj_print_exception(&stderr_print, exc);
    return 1;
}

int main(int argc, char **argv) {
    mp_stack_ctrl_init();
    mp_stack_set_limit(256 * 1024);
    long heap_size = 1024 * 1024;
    int a = 1;
    while (a + 1 < argc && strcmp(argv[a], "-X") == 0) {
        if (strncmp(argv[a + 1], "heapsize=", 9) == 0) {
            char *end;
            heap_size = strtol(argv[a + 1] + 9, &end, 0);
            if (*end == 'K' || *end == 'k') {
                heap_size *= 1024;
            } else if (*end == 'M' || *end == 'm') {
                heap_size *= 1024 * 1024;
            }
        }
        a += 2;
    }
    if (a >= argc) {
        fprintf(stderr, "usage: %s [-X heapsize=N] SCRIPT [ARGS...]\n", argv[0]);
        return 2;
    }
    char *heap = malloc(heap_size);
    gc_init(heap, heap + heap_size);
    mp_init();

    // sys.path: the script's folder, then MICROPYPATH, and nothing else (as on the unix port,
    // MICROPYPATH replaces the default path: ".frozen" only where it is given)
    mp_obj_t path = mp_sys_path;
    mp_obj_list_init(MP_OBJ_TO_PTR(path), 0);
    const char *script = argv[a];
    const char *slash = strrchr(script, '/');
    mp_obj_list_append(path, slash ? mp_obj_new_str(script, slash - script) : MP_OBJ_NEW_QSTR(MP_QSTR_));
    const char *mpath = getenv("MICROPYPATH");
    while (mpath && *mpath) {
        const char *colon = strchr(mpath, ':');
        size_t len = colon ? (size_t)(colon - mpath) : strlen(mpath);
        if (len) {
            mp_obj_list_append(path, mp_obj_new_str(mpath, len));
        }
        mpath = colon ? colon + 1 : NULL;
    }
    for (int i = a; i < argc; i++) {
        mp_obj_list_append(mp_sys_argv, mp_obj_new_str(argv[i], strlen(argv[i])));
    }
    int ret = run_file(script);
    mp_deinit();
    free(heap);
    return ret;
}
