/* boxlite.boxlite: the CPython extension over libboxlite. Three thin types
 * (Runtime, Box, Exec) whose blocking calls release the GIL; the async API,
 * the options classes and SimpleBox are Python on top (sdks/python/boxlite).
 * Errors are raised as the classes of boxlite.errors, chosen by the
 * library's error code; the message is the library's. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <string.h>

#include "boxlite.h"

/* ------------------------------------------------------------------ errors */

static PyObject *errors_module;

/* The boxlite.errors class for a library error code. */
static PyObject *error_class(int code)
{
	const char *name;

	switch (-code) {
	case ENOENT: name = "NotFoundError"; break;
	case EEXIST: name = "AlreadyExistsError"; break;
	case EINVAL:
	case E2BIG:
	case ENAMETOOLONG: name = "InvalidArgumentError"; break;
	case ETIMEDOUT: name = "TimeoutError"; break;
	case ENOTCONN:
	case EALREADY:
	case EBUSY: name = "InvalidStateError"; break;
	case EACCES:
	case EPERM: name = "PermissionDeniedError"; break;
	case ENOTSUP: name = "UnsupportedError"; break;
	default: name = "BoxliteRuntimeError"; break;
	}
	return PyObject_GetAttrString(errors_module, name);
}

/* Raises the error for code (err may be NULL: then strerror) and frees err. */
static PyObject *raise_err(int code, boxlite_error *err)
{
	PyObject *cls = error_class(code);

	PyErr_SetString(cls ? cls : PyExc_RuntimeError, err ? boxlite_error_message(err) : strerror(-code));
	Py_XDECREF(cls);
	boxlite_error_free(err);
	return NULL;
}

/* A NULL-terminated char * array from a list of str (NULL for None). */
static const char **strv(PyObject *list, Py_ssize_t *n_out)
{
	Py_ssize_t n;
	const char **v;

	if (list == Py_None)
		return NULL;
	if (!PyList_Check(list) && !PyTuple_Check(list)) {
		PyErr_SetString(PyExc_TypeError, "expected a list of str");
		return NULL;
	}
	n = PySequence_Size(list);
	v = PyMem_Calloc((size_t)n + 1, sizeof(*v));
	if (!v)
		return (const char **)PyErr_NoMemory();
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *s = PySequence_Fast_GET_ITEM(list, i);

		if (!PyUnicode_Check(s) || !(v[i] = PyUnicode_AsUTF8(s))) {
			if (!PyErr_Occurred())
				PyErr_SetString(PyExc_TypeError, "expected a list of str");
			PyMem_Free(v);
			return NULL;
		}
	}
	if (n_out)
		*n_out = n;
	return v;
}

/* ------------------------------------------------------------------- Exec */

typedef struct {
	PyObject_HEAD boxlite_exec *x;
	PyObject *box; /* keeps the Box (and so the runtime) alive */
} ExecObject;

static void exec_dealloc(ExecObject *self)
{
	if (self->x) {
		Py_BEGIN_ALLOW_THREADS boxlite_exec_free(self->x);
		Py_END_ALLOW_THREADS
	}
	Py_XDECREF(self->box);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static int exec_check(ExecObject *self)
{
	if (!self->x) {
		PyErr_SetString(PyExc_RuntimeError, "the execution was released");
		return -1;
	}
	return 0;
}

static PyObject *exec_fds(ExecObject *self, PyObject *unused)
{
	(void)unused;
	if (exec_check(self) < 0)
		return NULL;
	return Py_BuildValue("(iii)", boxlite_exec_stdin_fd(self->x), boxlite_exec_stdout_fd(self->x),
			     boxlite_exec_stderr_fd(self->x));
}

/* wait(timeout_ms=-1) -> (exit_code, signal) or None when the time ran out. */
static PyObject *exec_wait(ExecObject *self, PyObject *args)
{
	int timeout_ms = -1, rc;
	boxlite_exit_status st = { -1, 0 };
	boxlite_error *err = NULL;

	if (!PyArg_ParseTuple(args, "|i", &timeout_ms) || exec_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_exec_wait(self->x, timeout_ms, &st, &err);
	Py_END_ALLOW_THREADS
	if (rc == -ETIMEDOUT && timeout_ms >= 0) {
		boxlite_error_free(err);
		Py_RETURN_NONE;
	}
	if (rc < 0)
		return raise_err(rc, err);
	return Py_BuildValue("(ii)", st.exit_code, st.signal);
}

static PyObject *exec_signal(ExecObject *self, PyObject *args)
{
	int sig, rc;

	if (!PyArg_ParseTuple(args, "i", &sig) || exec_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_exec_signal(self->x, sig);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *exec_resize(ExecObject *self, PyObject *args)
{
	unsigned short rows, cols;
	int rc;

	if (!PyArg_ParseTuple(args, "HH", &rows, &cols) || exec_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_exec_resize(self->x, rows, cols);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *exec_close_stdin(ExecObject *self, PyObject *unused)
{
	(void)unused;
	if (exec_check(self) < 0)
		return NULL;
	boxlite_exec_close_stdin(self->x);
	Py_RETURN_NONE;
}

static PyMethodDef exec_methods[] = {
	{ "fds", (PyCFunction)exec_fds, METH_NOARGS, "(stdin, stdout, stderr) socket fds of the session" },
	{ "wait", (PyCFunction)exec_wait, METH_VARARGS,
	  "wait(timeout_ms=-1) -> (exit_code, signal), or None when timeout_ms ran out (releases the GIL)" },
	{ "signal", (PyCFunction)exec_signal, METH_VARARGS, "signal(sig): sends sig to the command" },
	{ "resize", (PyCFunction)exec_resize, METH_VARARGS, "resize(rows, cols): a tty's new size" },
	{ "close_stdin", (PyCFunction)exec_close_stdin, METH_NOARGS, "sends EOF on the command's stdin" },
	{ NULL, NULL, 0, NULL },
};

static PyTypeObject ExecType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boxlite.boxlite.NativeExec",
	.tp_basicsize = sizeof(ExecObject),
	.tp_dealloc = (destructor)exec_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A command running in a box (libboxlite's boxlite_exec).",
	.tp_methods = exec_methods,
};

/* -------------------------------------------------------------------- Box */

typedef struct {
	PyObject_HEAD boxlite_box *box;
	PyObject *runtime;
} BoxObject;

static void box_dealloc(BoxObject *self)
{
	if (self->box) {
		Py_BEGIN_ALLOW_THREADS boxlite_box_free(self->box);
		Py_END_ALLOW_THREADS
	}
	Py_XDECREF(self->runtime);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

static int box_check(BoxObject *self)
{
	if (!self->box) {
		PyErr_SetString(PyExc_RuntimeError, "the box was removed");
		return -1;
	}
	return 0;
}

static PyObject *box_id(BoxObject *self, void *unused)
{
	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	return PyUnicode_FromString(boxlite_box_id(self->box));
}

/* info() -> dict: id, name, image, state, exit_code, reason, shim_pid,
 * qemu_pid, detached, created_at_ns, started_at_ns, finished_at_ns, cpus,
 * memory_mib (None when the config could not be read). */
static PyObject *info_dict(const boxlite_box_info *i)
{
	PyObject *cpus = i->cpus ? PyLong_FromUnsignedLong(i->cpus) : (Py_INCREF(Py_None), Py_None);
	PyObject *mem = i->memory_mib ? PyLong_FromUnsignedLong(i->memory_mib) : (Py_INCREF(Py_None), Py_None);
	PyObject *d = Py_BuildValue("{s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:i, s:O, s:K, s:K, s:K, s:N, s:N}", "id",
				    i->id, "name", i->name, "image", i->image, "state", boxlite_box_state_name(i->state),
				    "exit_code", (int)i->exit_code, "reason", i->reason, "shim_pid", (int)i->shim_pid,
				    "qemu_pid", (int)i->qemu_pid, "detached", i->detached ? Py_True : Py_False,
				    "created_at_ns", (unsigned long long)i->created_at, "started_at_ns",
				    (unsigned long long)i->started_at, "finished_at_ns", (unsigned long long)i->finished_at,
				    "cpus", cpus, "memory_mib", mem);
	return d;
}

static PyObject *box_info(BoxObject *self, PyObject *unused)
{
	boxlite_box_info info = { .struct_size = sizeof(info) };
	boxlite_error *err = NULL;
	int rc;

	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_info_get(self->box, &info, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	return info_dict(&info);
}

static PyObject *box_inspect(BoxObject *self, PyObject *unused)
{
	boxlite_error *err = NULL;
	char *json = NULL;
	PyObject *s;
	int rc;

	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_inspect(self->box, &json, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	s = PyUnicode_FromString(json);
	free(json);
	return s;
}

static PyObject *box_start(BoxObject *self, PyObject *unused)
{
	boxlite_error *err = NULL;
	int rc;

	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_start(self->box, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0 && rc != -EALREADY)
		return raise_err(rc, err);
	boxlite_error_free(err);
	Py_RETURN_NONE;
}

static PyObject *box_stop(BoxObject *self, PyObject *args)
{
	unsigned int timeout_ms = 0;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "|I", &timeout_ms) || box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_stop(self->box, timeout_ms, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	Py_RETURN_NONE;
}

static PyObject *wrap_box(PyObject *runtime, boxlite_box *box);

/* checkpoint(): saved and stopped; the next start resumes it */
static PyObject *box_checkpoint(BoxObject *self, PyObject *unused)
{
	boxlite_error *err = NULL;
	int rc;

	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_checkpoint(self->box, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	Py_RETURN_NONE;
}

/* export(dest, with_state=False) -> str: the .boxlite archive written */
static PyObject *box_export(BoxObject *self, PyObject *args)
{
	const char *dest;
	char *written = NULL;
	boxlite_error *err = NULL;
	int with_state = 0, rc;
	PyObject *r;

	if (!PyArg_ParseTuple(args, "s|p", &dest, &with_state) || box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_export_ex(self->box, dest, with_state ? BOXLITE_EXPORT_WITH_STATE : 0,
							  &written, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	r = PyUnicode_FromString(written);
	free(written);
	return r;
}

/* clone(name=None) -> NativeBox: one thin copy of this box */
static PyObject *box_clone(BoxObject *self, PyObject *args)
{
	const char *name = NULL;
	boxlite_box *clone = NULL;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "|z", &name) || box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_clone(self->box, 1, name ? (const char *const[]){ name } : NULL, &clone, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	return wrap_box(self->runtime, clone);
}

/* snapshot_create(name) / _restore(name) / _remove(name) */
static PyObject *box_snapshot_call(BoxObject *self, PyObject *args,
				   int (*fn)(boxlite_box *, const char *, boxlite_error **))
{
	const char *name;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "s", &name) || box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = fn(self->box, name, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	Py_RETURN_NONE;
}

static PyObject *box_snapshot_create(BoxObject *self, PyObject *args)
{
	return box_snapshot_call(self, args, boxlite_box_snapshot_create);
}

static PyObject *box_snapshot_restore(BoxObject *self, PyObject *args)
{
	return box_snapshot_call(self, args, boxlite_box_snapshot_restore);
}

static PyObject *box_snapshot_remove(BoxObject *self, PyObject *args)
{
	return box_snapshot_call(self, args, boxlite_box_snapshot_remove);
}

/* snapshot_list() -> [dict(id, box_id, name, created_at, container_disk_bytes, size_bytes)], newest first */
static PyObject *box_snapshot_list(BoxObject *self, PyObject *unused)
{
	boxlite_snapshot_info *v = NULL;
	boxlite_error *err = NULL;
	PyObject *list;
	size_t n = 0;
	int rc;

	if (box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_snapshot_list(self->box, &v, &n, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	if ((list = PyList_New(0))) {
		for (size_t i = 0; i < n; i++) {
			PyObject *d = Py_BuildValue("{s:s,s:s,s:s,s:L,s:K,s:K}", "id", v[i].id, "box_id", v[i].box_id, "name",
						    v[i].name, "created_at", (long long)v[i].created_at,
						    "container_disk_bytes", (unsigned long long)v[i].container_disk_bytes,
						    "size_bytes", (unsigned long long)v[i].size_bytes);
			if (!d || PyList_Append(list, d) < 0) {
				Py_XDECREF(d);
				Py_CLEAR(list);
				break;
			}
			Py_DECREF(d);
		}
	}
	boxlite_snapshot_info_list_free(v, n);
	return list;
}

/* remove(): the handle is freed by the library, whatever the result. */
static PyObject *box_remove(BoxObject *self, PyObject *unused)
{
	boxlite_error *err = NULL;
	boxlite_box *box = self->box;
	int rc;

	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	self->box = NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_remove(box, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	Py_RETURN_NONE;
}

/* exec(argv, env=None, cwd=None, user=None, tty=False, rows=0, cols=0,
 *      timeout_ms=0) -> NativeExec, stdin open. */
static PyObject *box_exec(BoxObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "argv", "env", "cwd", "user", "tty", "rows", "cols", "timeout_ms", NULL };
	PyObject *argv_o, *env_o = Py_None;
	const char *cwd = NULL, *user = NULL, **argv = NULL, **env = NULL;
	int tty = 0;
	unsigned short rows = 0, cols = 0;
	unsigned int timeout_ms = 0;
	boxlite_exec *x = NULL;
	boxlite_error *err = NULL;
	ExecObject *e;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "O|OzzpHHI", names, &argv_o, &env_o, &cwd, &user, &tty, &rows,
					 &cols, &timeout_ms) ||
	    box_check(self) < 0)
		return NULL;
	if (!(argv = strv(argv_o, NULL)) || (env_o != Py_None && !(env = strv(env_o, NULL)))) {
		PyMem_Free(argv);
		return PyErr_Occurred() ? NULL : PyErr_Format(PyExc_ValueError, "the command is empty");
	}
	{
		boxlite_exec_options o = { .struct_size = sizeof(o), .argv = argv, .env = env, .workdir = cwd,
					   .user = user, .tty = (uint32_t)tty, .tty_rows = rows, .tty_cols = cols,
					   .timeout_ms = timeout_ms };
		Py_BEGIN_ALLOW_THREADS rc = boxlite_exec_start(self->box, &o, &x, &err);
		Py_END_ALLOW_THREADS
	}
	PyMem_Free(argv);
	PyMem_Free(env);
	if (rc < 0)
		return raise_err(rc, err);
	e = PyObject_New(ExecObject, &ExecType);
	if (!e) {
		boxlite_exec_free(x);
		return NULL;
	}
	e->x = x;
	e->box = (PyObject *)self;
	Py_INCREF(self);
	return (PyObject *)e;
}

static PyObject *box_copy(BoxObject *self, PyObject *args, int in)
{
	const char *src, *dst;
	int follow = 0, no_overwrite = 0, rc;
	boxlite_copy_options co = { .struct_size = sizeof(co) };
	boxlite_error *err = NULL;

	if (!PyArg_ParseTuple(args, "ss|pp", &src, &dst, &follow, &no_overwrite) || box_check(self) < 0)
		return NULL;
	co.follow_symlinks = follow;
	co.no_overwrite = no_overwrite;
	Py_BEGIN_ALLOW_THREADS rc = in ? boxlite_box_copy_in_ex(self->box, src, dst, &co, &err)
				       : boxlite_box_copy_out_ex(self->box, src, dst, &co, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	Py_RETURN_NONE;
}

static PyObject *box_copy_in(BoxObject *self, PyObject *args)
{
	return box_copy(self, args, 1);
}

static PyObject *box_copy_out(BoxObject *self, PyObject *args)
{
	return box_copy(self, args, 0);
}

/* publish(guest_port, host_port=0, host_ip=None) -> the bound host port */
static PyObject *box_publish(BoxObject *self, PyObject *args)
{
	unsigned int guest, host = 0, bound = 0;
	const char *ip = NULL;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "I|Iz", &guest, &host, &ip) || box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_port_add(self->box, ip, host, guest, "tcp", &bound, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	return PyLong_FromUnsignedLong(bound ? bound : host);
}

static PyObject *box_stats(BoxObject *self, PyObject *unused)
{
	boxlite_box_stats st = { .struct_size = sizeof(st) };
	boxlite_error *err = NULL;
	int rc;

	(void)unused;
	if (box_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_stats_get(self->box, &st, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	return Py_BuildValue("{s:K, s:K, s:K, s:K, s:K, s:K}", "host_cpu_ns", (unsigned long long)st.host_cpu_ns,
			     "host_rss_bytes", (unsigned long long)st.host_rss_bytes, "guest_mem_total_bytes",
			     (unsigned long long)st.guest_mem_total_bytes, "guest_mem_available_bytes",
			     (unsigned long long)st.guest_mem_available_bytes, "spawn_ns",
			     (unsigned long long)st.timings.spawn, "ready_ns", (unsigned long long)st.timings.ready);
}

static PyMethodDef box_methods[] = {
	{ "info", (PyCFunction)box_info, METH_NOARGS, "info() -> dict of the box's state" },
	{ "inspect", (PyCFunction)box_inspect, METH_NOARGS, "inspect() -> the library's inspect JSON" },
	{ "start", (PyCFunction)box_start, METH_NOARGS, "start(): boots the box (a running one: nothing)" },
	{ "stop", (PyCFunction)box_stop, METH_VARARGS, "stop(timeout_ms=0)" },
	{ "clone", (PyCFunction)box_clone, METH_VARARGS, "clone(name=None) -> NativeBox" },
	{ "export", (PyCFunction)box_export, METH_VARARGS,
	  "export(dest, with_state=False) -> str, the archive written" },
	{ "checkpoint", (PyCFunction)box_checkpoint, METH_NOARGS, "checkpoint(): saved and stopped; start resumes it" },
	{ "snapshot_create", (PyCFunction)box_snapshot_create, METH_VARARGS, "snapshot_create(name)" },
	{ "snapshot_list", (PyCFunction)box_snapshot_list, METH_NOARGS, "snapshot_list() -> [dict], newest first" },
	{ "snapshot_restore", (PyCFunction)box_snapshot_restore, METH_VARARGS, "snapshot_restore(name)" },
	{ "snapshot_remove", (PyCFunction)box_snapshot_remove, METH_VARARGS, "snapshot_remove(name)" },
	{ "remove", (PyCFunction)box_remove, METH_NOARGS, "remove(): stops and deletes the box" },
	{ "exec", (PyCFunction)(void (*)(void))box_exec, METH_VARARGS | METH_KEYWORDS,
	  "exec(argv, env=None, cwd=None, user=None, tty=False, rows=0, cols=0, timeout_ms=0) -> NativeExec" },
	{ "copy_in", (PyCFunction)box_copy_in, METH_VARARGS, "copy_in(host, guest, follow=False, no_overwrite=False)" },
	{ "copy_out", (PyCFunction)box_copy_out, METH_VARARGS,
	  "copy_out(guest, host, follow=False, no_overwrite=False)" },
	{ "stats", (PyCFunction)box_stats, METH_NOARGS, "stats() -> dict of host and guest figures" },
	{ "publish", (PyCFunction)box_publish, METH_VARARGS,
	  "publish(guest_port, host_port=0, host_ip=None) -> the host port (0: a free one)" },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef box_getset[] = {
	{ "id", (getter)box_id, NULL, "the box's id", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject BoxType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boxlite.boxlite.NativeBox",
	.tp_basicsize = sizeof(BoxObject),
	.tp_dealloc = (destructor)box_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A box (libboxlite's boxlite_box).",
	.tp_methods = box_methods,
	.tp_getset = box_getset,
};

static PyObject *wrap_box(PyObject *runtime, boxlite_box *box)
{
	BoxObject *b = PyObject_New(BoxObject, &BoxType);

	if (!b) {
		boxlite_box_free(box);
		return NULL;
	}
	b->box = box;
	b->runtime = runtime;
	Py_INCREF(runtime);
	return (PyObject *)b;
}

/* ---------------------------------------------------------------- Runtime */

typedef struct {
	PyObject_HEAD boxlite_runtime *rt;
} RuntimeObject;

static void runtime_dealloc(RuntimeObject *self)
{
	if (self->rt)
		boxlite_runtime_close(self->rt);
	Py_TYPE(self)->tp_free((PyObject *)self);
}

/* NativeRuntime(home=None) opens a local runtime; NativeRuntime(url=...,
 * api_key=None, path_prefix=None) a remote one (Boxlite.rest). */
static int runtime_init(RuntimeObject *self, PyObject *args, PyObject *kw)
{
	static char *names[] = { "home", "url", "api_key", "path_prefix", NULL };
	const char *home = NULL, *url = NULL, *key = NULL, *prefix = NULL;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTupleAndKeywords(args, kw, "|zzzz", names, &home, &url, &key, &prefix))
		return -1;
	Py_BEGIN_ALLOW_THREADS
	rc = url ? boxlite_runtime_open_remote(url, key, prefix, &self->rt, &err)
		 : boxlite_runtime_open(home, &self->rt, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0) {
		raise_err(rc, err);
		return -1;
	}
	return 0;
}

static int rt_check(RuntimeObject *self)
{
	if (!self->rt) {
		PyErr_SetString(PyExc_RuntimeError, "the runtime was shut down");
		return -1;
	}
	return 0;
}

static PyObject *runtime_home(RuntimeObject *self, void *unused)
{
	(void)unused;
	if (rt_check(self) < 0)
		return NULL;
	return PyUnicode_FromString(boxlite_runtime_home(self->rt));
}

/* set_registries([dict(host, transport, skip_verify, search, username,
 * password, token)]) */
static PyObject *runtime_set_registries(RuntimeObject *self, PyObject *args)
{
	PyObject *list;
	boxlite_image_registry *regs;
	boxlite_error *err = NULL;
	Py_ssize_t n;
	int rc;

	if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list) || rt_check(self) < 0)
		return NULL;
	n = PyList_Size(list);
	if (!(regs = PyMem_Calloc((size_t)(n ? n : 1), sizeof(*regs))))
		return PyErr_NoMemory();
	for (Py_ssize_t i = 0; i < n; i++) {
		PyObject *d = PyList_GET_ITEM(list, i), *v;

		if (!PyDict_Check(d)) {
			PyMem_Free(regs);
			return PyErr_Format(PyExc_TypeError, "registry %zd: expected a dict", i);
		}
		regs[i].struct_size = sizeof(regs[i]);
#define STR_FIELD(key, field)                                                             \
	if ((v = PyDict_GetItemString(d, key)) && v != Py_None && !(regs[i].field = PyUnicode_AsUTF8(v))) { \
		PyMem_Free(regs);                                                         \
		return NULL;                                                              \
	}
		STR_FIELD("host", host)
		STR_FIELD("transport", transport)
		STR_FIELD("username", username)
		STR_FIELD("password", password)
		STR_FIELD("token", token)
#undef STR_FIELD
		regs[i].skip_verify = (v = PyDict_GetItemString(d, "skip_verify")) && PyObject_IsTrue(v);
		regs[i].search = (v = PyDict_GetItemString(d, "search")) && PyObject_IsTrue(v);
	}
	rc = boxlite_runtime_set_image_registries(self->rt, regs, (size_t)n, &err);
	PyMem_Free(regs);
	if (rc < 0)
		return raise_err(rc, err);
	Py_RETURN_NONE;
}

/* Fills o from the dict the Python layer built (boxlite/options.py). */
static int apply_options(boxlite_box_options *o, PyObject *d)
{
	PyObject *v;
	int rc = 0;

#define GET(key) ((v = PyDict_GetItemString(d, key)) && v != Py_None)
#define CHECK_RC(call, what)                                                                  \
	do {                                                                                  \
		if ((rc = (call)) < 0) {                                                      \
			PyObject *cls = error_class(rc);                                      \
			if (!PyErr_Occurred())                                                \
				PyErr_Format(cls ? cls : PyExc_ValueError, "BoxOptions.%s: %s", what, \
					     rc == -EINVAL ? "invalid value" : strerror(-rc)); \
			Py_XDECREF(cls);                                                      \
			return -1;                                                            \
		}                                                                             \
	} while (0)
	if (GET("rootfs"))
		CHECK_RC(boxlite_box_options_set_rootfs(o, PyUnicode_AsUTF8(v)), "rootfs_path");
	if (GET("cpus"))
		CHECK_RC(boxlite_box_options_set_cpus(o, (uint32_t)PyLong_AsUnsignedLong(v)), "cpus");
	if (GET("memory_mib"))
		CHECK_RC(boxlite_box_options_set_memory_mib(o, (uint32_t)PyLong_AsUnsignedLong(v)), "memory_mib");
	if (GET("disk_size_gb"))
		CHECK_RC(boxlite_box_options_set_disk_size_gb(o, (uint32_t)PyLong_AsUnsignedLong(v)), "disk_size_gb");
	if (GET("working_dir"))
		CHECK_RC(boxlite_box_options_set_workdir(o, PyUnicode_AsUTF8(v)), "working_dir");
	if (GET("user"))
		CHECK_RC(boxlite_box_options_set_user(o, PyUnicode_AsUTF8(v)), "user");
	if (GET("name"))
		CHECK_RC(boxlite_box_options_set_name(o, PyUnicode_AsUTF8(v)), "name");
	if (GET("network"))
		boxlite_box_options_set_network(o, PyObject_IsTrue(v));
	if (GET("detach"))
		boxlite_box_options_set_detach(o, PyObject_IsTrue(v));
	if (GET("auto_remove"))
		boxlite_box_options_set_auto_remove(o, PyObject_IsTrue(v));
	if (GET("env")) {
		const char **kv = strv(v, NULL);
		if (!kv)
			return -1;
		for (size_t i = 0; kv[i]; i++)
			if ((rc = boxlite_box_options_add_env(o, kv[i])) < 0)
				break;
		PyMem_Free(kv);
		CHECK_RC(rc, "env");
	}
	if (GET("cmd") || GET("entrypoint")) {
		const char *which[] = { "entrypoint", "cmd" };
		for (int k = 0; k < 2; k++) {
			const char **argv;
			if (!GET(which[k]))
				continue;
			if (!(argv = strv(v, NULL)))
				return -1;
			rc = k ? boxlite_box_options_set_command(o, argv) : boxlite_box_options_set_entrypoint(o, argv);
			PyMem_Free(argv);
			CHECK_RC(rc, which[k]);
		}
	}
	if (GET("volumes")) { /* [(host or None, guest, read_only)] */
		for (Py_ssize_t i = 0; i < PyList_Size(v); i++) {
			const char *host = NULL, *guest;
			int ro = 0;
			if (!PyArg_ParseTuple(PyList_GET_ITEM(v, i), "zsp", &host, &guest, &ro))
				return -1;
			CHECK_RC(boxlite_box_options_add_volume(o, host, guest, ro), "volumes");
		}
	}
	if (GET("ports")) { /* [(host_ip or None, host_port, guest_port, proto)] */
		for (Py_ssize_t i = 0; i < PyList_Size(v); i++) {
			const char *ip = NULL, *proto = "tcp";
			unsigned int hp = 0, gp = 0;
			if (!PyArg_ParseTuple(PyList_GET_ITEM(v, i), "zIIs", &ip, &hp, &gp, &proto))
				return -1;
			CHECK_RC(boxlite_box_options_add_port(o, ip, hp, gp, proto), "ports");
		}
	}
	if (GET("allow_net")) {
		for (Py_ssize_t i = 0; i < PyList_Size(v); i++)
			CHECK_RC(boxlite_box_options_add_allow_net(o, PyUnicode_AsUTF8(PyList_GET_ITEM(v, i))),
				 "network.allow_net");
	}
	if (GET("cap_add")) {
		for (Py_ssize_t i = 0; i < PyList_Size(v); i++)
			CHECK_RC(boxlite_box_options_add_capability(o, PyUnicode_AsUTF8(PyList_GET_ITEM(v, i))),
				 "advanced.capabilities.add");
	}
	if (GET("cap_drop")) {
		for (Py_ssize_t i = 0; i < PyList_Size(v); i++)
			CHECK_RC(boxlite_box_options_drop_capability(o, PyUnicode_AsUTF8(PyList_GET_ITEM(v, i))),
				 "advanced.capabilities.drop");
	}
	if (GET("security_development") && PyObject_IsTrue(v))
		boxlite_box_options_set_security(o, BOXLITE_SECURITY_DEVELOPMENT);
#undef GET
#undef CHECK_RC
	return PyErr_Occurred() ? -1 : 0;
}

/* create(options: dict) -> NativeBox */
static PyObject *runtime_create(RuntimeObject *self, PyObject *args)
{
	PyObject *d, *img;
	boxlite_box_options *o;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &d) || rt_check(self) < 0)
		return NULL;
	img = PyDict_GetItemString(d, "image");
	if (!(o = boxlite_box_options_new(img && img != Py_None ? PyUnicode_AsUTF8(img) : NULL)))
		return PyErr_NoMemory();
	if (apply_options(o, d) < 0) {
		boxlite_box_options_free(o);
		return NULL;
	}
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_create(self->rt, o, &box, &err);
	Py_END_ALLOW_THREADS
	boxlite_box_options_free(o);
	if (rc < 0)
		return raise_err(rc, err);
	return wrap_box((PyObject *)self, box);
}

/* import_box(path, name=None, untrusted=False) -> NativeBox */
static PyObject *runtime_import_box(RuntimeObject *self, PyObject *args)
{
	const char *path, *name = NULL;
	int untrusted = 0, rc;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;

	if (!PyArg_ParseTuple(args, "s|zp", &path, &name, &untrusted) || rt_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_runtime_import_box(self->rt, path, name,
							       untrusted ? BOXLITE_IMPORT_UNTRUSTED : 0, &box, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	return wrap_box((PyObject *)self, box);
}

/* get(id_or_name) -> NativeBox, or None when there is none */
static PyObject *runtime_get(RuntimeObject *self, PyObject *args)
{
	const char *key;
	boxlite_box *box = NULL;
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "s", &key) || rt_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_box_get(self->rt, key, &box, &err);
	Py_END_ALLOW_THREADS
	if (rc == -ENOENT) {
		boxlite_error_free(err);
		Py_RETURN_NONE;
	}
	if (rc < 0)
		return raise_err(rc, err);
	return wrap_box((PyObject *)self, box);
}

/* list() -> [dict], as NativeBox.info() gives them */
static PyObject *runtime_list(RuntimeObject *self, PyObject *unused)
{
	boxlite_box_info *v = NULL;
	boxlite_error *err = NULL;
	size_t n = 0;
	PyObject *list;
	int rc;

	(void)unused;
	if (rt_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_runtime_list_boxes(self->rt, &v, &n, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	if ((list = PyList_New(0))) {
		for (size_t i = 0; i < n; i++) {
			PyObject *d = info_dict(&v[i]);

			if (!d || PyList_Append(list, d) < 0) {
				Py_XDECREF(d);
				Py_CLEAR(list);
				break;
			}
			Py_DECREF(d);
		}
	}
	boxlite_box_info_list_free(v, n);
	return list;
}

/* ---- images */

struct pull_ctx {
	PyObject *progress; /* callable or NULL */
	char ref[512], digest[128];
	uint32_t layers;
	int failed;         /* the callback raised: its error is kept */
	PyObject *exc_type, *exc_value, *exc_tb;
};

static const char *const stage_names[] = { "resolved", "layer_cached", "layer_progress", "layer_done",
					   "unpacking", "done" };

/* On the pulling threads (never two at once), without the GIL. */
static void on_pull_event(void *user_data, const boxlite_pull_event *ev)
{
	struct pull_ctx *c = user_data;
	PyGILState_STATE g;
	PyObject *r;

	if (ev->stage == BOXLITE_PULL_RESOLVED)
		c->layers = ev->n_layers;
	if (ev->stage == BOXLITE_PULL_DONE) {
		snprintf(c->ref, sizeof(c->ref), "%s", ev->ref ? ev->ref : "");
		snprintf(c->digest, sizeof(c->digest), "%s", ev->digest ? ev->digest : "");
	}
	if (!c->progress || c->failed)
		return;
	g = PyGILState_Ensure();
	r = PyObject_CallFunction(c->progress, "({s:s, s:s, s:s, s:I, s:I, s:K, s:K})", "stage",
				  (unsigned)ev->stage < 6 ? stage_names[ev->stage] : "?", "reference",
				  ev->ref ? ev->ref : "", "digest", ev->digest ? ev->digest : "", "layer", ev->layer,
				  "layers", ev->n_layers, "done", (unsigned long long)ev->done, "total",
				  (unsigned long long)ev->total);
	if (!r) {
		c->failed = 1;
		PyErr_Fetch(&c->exc_type, &c->exc_value, &c->exc_tb);
	}
	Py_XDECREF(r);
	PyGILState_Release(g);
}

/* pull(ref, progress=None) -> {reference, digest, layers} */
static PyObject *runtime_pull(RuntimeObject *self, PyObject *args)
{
	const char *ref;
	PyObject *progress = Py_None;
	struct pull_ctx c = { 0 };
	boxlite_pull_options o = { .struct_size = sizeof(o), .progress = on_pull_event, .user_data = &c };
	boxlite_error *err = NULL;
	int rc;

	if (!PyArg_ParseTuple(args, "s|O", &ref, &progress) || rt_check(self) < 0)
		return NULL;
	if (progress != Py_None && !PyCallable_Check(progress))
		return PyErr_Format(PyExc_TypeError, "progress must be callable");
	c.progress = progress == Py_None ? NULL : progress;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_image_pull(self->rt, ref, &o, &err);
	Py_END_ALLOW_THREADS
	if (c.failed) { /* the callback's own exception wins */
		boxlite_error_free(err);
		PyErr_Restore(c.exc_type, c.exc_value, c.exc_tb);
		return NULL;
	}
	if (rc < 0)
		return raise_err(rc, err);
	return Py_BuildValue("{s:s, s:s, s:I}", "reference", c.ref[0] ? c.ref : ref, "digest", c.digest, "layers",
			     c.layers);
}

/* images() -> [{reference, digest, size, created}] */
static PyObject *runtime_images(RuntimeObject *self, PyObject *unused)
{
	boxlite_image_info *v = NULL;
	boxlite_error *err = NULL;
	size_t n = 0;
	PyObject *list;
	int rc;

	(void)unused;
	if (rt_check(self) < 0)
		return NULL;
	Py_BEGIN_ALLOW_THREADS rc = boxlite_image_list(self->rt, &v, &n, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return raise_err(rc, err);
	if ((list = PyList_New(0))) {
		for (size_t i = 0; i < n; i++) {
			PyObject *d = Py_BuildValue("{s:s, s:s, s:K, s:L}", "reference", v[i].ref, "digest", v[i].digest,
						    "size", (unsigned long long)v[i].size, "created",
						    (long long)v[i].created);

			if (!d || PyList_Append(list, d) < 0) {
				Py_XDECREF(d);
				Py_CLEAR(list);
				break;
			}
			Py_DECREF(d);
		}
	}
	boxlite_image_list_free(v, n);
	return list;
}

static PyObject *runtime_close(RuntimeObject *self, PyObject *unused)
{
	(void)unused;
	if (self->rt) {
		boxlite_runtime_close(self->rt);
		self->rt = NULL;
	}
	Py_RETURN_NONE;
}

static PyMethodDef runtime_methods[] = {
	{ "set_registries", (PyCFunction)runtime_set_registries, METH_VARARGS,
	  "set_registries([dict]): the image registries pulls use" },
	{ "create", (PyCFunction)runtime_create, METH_VARARGS, "create(options: dict) -> NativeBox" },
	{ "get", (PyCFunction)runtime_get, METH_VARARGS, "get(id_or_name) -> NativeBox or None" },
	{ "import_box", (PyCFunction)runtime_import_box, METH_VARARGS,
	  "import_box(path, name=None, untrusted=False) -> NativeBox" },
	{ "list", (PyCFunction)runtime_list, METH_NOARGS, "list() -> [dict], newest first" },
	{ "pull", (PyCFunction)runtime_pull, METH_VARARGS,
	  "pull(ref, progress=None) -> {reference, digest, layers}; progress(event: dict) per step" },
	{ "images", (PyCFunction)runtime_images, METH_NOARGS, "images() -> [{reference, digest, size, created}]" },
	{ "close", (PyCFunction)runtime_close, METH_NOARGS, "close(): later calls raise" },
	{ NULL, NULL, 0, NULL },
};

static PyGetSetDef runtime_getset[] = {
	{ "home", (getter)runtime_home, NULL, "the runtime's home directory", NULL },
	{ NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject RuntimeType = {
	PyVarObject_HEAD_INIT(NULL, 0).tp_name = "boxlite.boxlite.NativeRuntime",
	.tp_basicsize = sizeof(RuntimeObject),
	.tp_dealloc = (destructor)runtime_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "NativeRuntime(home=None): a boxlite runtime on a home directory (libboxlite).",
	.tp_methods = runtime_methods,
	.tp_getset = runtime_getset,
	.tp_init = (initproc)runtime_init,
	.tp_new = PyType_GenericNew,
};

/* ----------------------------------------------------------------- module */

static PyObject *native_version(PyObject *m, PyObject *unused)
{
	(void)m;
	(void)unused;
	return PyUnicode_FromString(boxlite_version());
}

static PyMethodDef module_methods[] = {
	{ "version", native_version, METH_NOARGS, "libboxlite's version" },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module_def = {
	PyModuleDef_HEAD_INIT, "boxlite.boxlite", "libboxlite for Python (the native half of boxlite)", -1,
	module_methods,        NULL,              NULL,                                               NULL,
	NULL,
};

PyMODINIT_FUNC PyInit_boxlite(void);
PyMODINIT_FUNC PyInit_boxlite(void)
{
	PyObject *m;

	if (PyType_Ready(&RuntimeType) < 0 || PyType_Ready(&BoxType) < 0 || PyType_Ready(&ExecType) < 0)
		return NULL;
	if (!(errors_module = PyImport_ImportModule("boxlite.errors")))
		return NULL;
	if (!(m = PyModule_Create(&module_def)))
		return NULL;
	Py_INCREF(&RuntimeType);
	Py_INCREF(&BoxType);
	Py_INCREF(&ExecType);
	if (PyModule_AddObject(m, "NativeRuntime", (PyObject *)&RuntimeType) < 0 ||
	    PyModule_AddObject(m, "NativeBox", (PyObject *)&BoxType) < 0 ||
	    PyModule_AddObject(m, "NativeExec", (PyObject *)&ExecType) < 0) {
		Py_DECREF(m);
		return NULL;
	}
	return m;
}
