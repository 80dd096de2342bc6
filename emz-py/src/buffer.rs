//! The buffer protocol both ways, under the abi3 stable ABI from Python 3.10 on.
//!
//! PyO3 exposes `Py_buffer` and buffer-exporting classes only when the minimum ABI is
//! 3.11 (the version that put them in the *documented* stable ABI). The functions and the
//! struct layout have not changed since Python 3.3, and `PyType_FromSpec` accepts the
//! `bf_getbuffer` slot since 3.9, so this module declares what it needs itself:
//!
//! * [`Input`]: a contiguous read-only view of any bytes-like object (bytes, bytearray,
//!   memoryview, array.array, numpy arrays, …) for `emit_etale`, without copying;
//! * [`part_view`]: a read-only `memoryview` over a received part, backed by an object
//!   that owns a clone of the part (libzmq shares the buffer, nothing is copied). The
//!   memoryview holds that object, so the bytes stay valid for as long as any view or
//!   any consumer of the view (numpy.frombuffer, …) exists: no use-after-free.
//!
//! Every function here must be called with the GIL held.

use emyzelium::Part;
use pyo3::exceptions::{PyRuntimeError, PyTypeError};
use pyo3::ffi;
use pyo3::prelude::*;
use std::ffi::{c_char, c_int, c_void};
use std::mem::ManuallyDrop;
use std::ptr;
use std::sync::OnceLock;

/// CPython's `Py_buffer` (Include/pybuffer.h), unchanged since 3.3.
#[repr(C)]
struct PyBufferRaw {
    buf: *mut c_void,
    obj: *mut ffi::PyObject,
    len: ffi::Py_ssize_t,
    itemsize: ffi::Py_ssize_t,
    readonly: c_int,
    ndim: c_int,
    format: *mut c_char,
    shape: *mut ffi::Py_ssize_t,
    strides: *mut ffi::Py_ssize_t,
    suboffsets: *mut ffi::Py_ssize_t,
    internal: *mut c_void,
}

const PYBUF_SIMPLE: c_int = 0;

extern "C" {
    fn PyObject_GetBuffer(obj: *mut ffi::PyObject, view: *mut PyBufferRaw, flags: c_int) -> c_int;
    fn PyBuffer_Release(view: *mut PyBufferRaw);
    fn PyBuffer_FillInfo(
        view: *mut PyBufferRaw,
        obj: *mut ffi::PyObject,
        buf: *mut c_void,
        len: ffi::Py_ssize_t,
        readonly: c_int,
        flags: c_int,
    ) -> c_int;
}

/// A contiguous byte view of a Python object, released on drop (GIL held).
pub struct Input {
    // Boxed: the exporter may expect the struct to stay where it was filled in.
    view: Box<PyBufferRaw>,
}

impl Input {
    /// Asks `obj` for a simple (contiguous, byte) buffer. Fails with `TypeError` when it
    /// is not bytes-like and with the exporter's `BufferError` when it cannot be
    /// contiguous (a strided numpy slice, say).
    pub fn new(obj: &Bound<'_, PyAny>, what: impl FnOnce() -> String) -> PyResult<Input> {
        let py = obj.py();
        let mut view = Box::new(PyBufferRaw {
            buf: ptr::null_mut(),
            obj: ptr::null_mut(),
            len: 0,
            itemsize: 0,
            readonly: 0,
            ndim: 0,
            format: ptr::null_mut(),
            shape: ptr::null_mut(),
            strides: ptr::null_mut(),
            suboffsets: ptr::null_mut(),
            internal: ptr::null_mut(),
        });
        // SAFETY: the GIL is held (we have a Bound), `view` is a valid, writable Py_buffer.
        let rc = unsafe { PyObject_GetBuffer(obj.as_ptr(), &mut *view, PYBUF_SIMPLE) };
        if rc != 0 {
            let err = PyErr::fetch(py);
            if err.is_instance_of::<PyTypeError>(py) {
                let tname = obj.get_type().name().map(|n| n.to_string()).unwrap_or_else(|_| "?".into());
                return Err(PyTypeError::new_err(format!("{}: a bytes-like object is required, not {tname}", what())));
            }
            return Err(err);
        }
        if view.len < 0 || (view.buf.is_null() && view.len > 0) {
            // SAFETY: the buffer was obtained above and is released exactly once.
            unsafe { PyBuffer_Release(&mut *view) };
            return Err(PyRuntimeError::new_err(format!("{}: the object exported an invalid buffer", what())));
        }
        Ok(Input { view })
    }

    pub fn as_slice(&self) -> &[u8] {
        if self.view.len == 0 {
            return &[];
        }
        // SAFETY: a PyBUF_SIMPLE buffer is `len` contiguous bytes at `buf`, valid until
        // released (in Drop). While we hold the export, a bytearray cannot be resized.
        unsafe { std::slice::from_raw_parts(self.view.buf as *const u8, self.view.len as usize) }
    }
}

impl AsRef<[u8]> for Input {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        // SAFETY: obtained in `new`, released once; Inputs never leave a GIL-holding scope
        // (the type is !Send because of its raw pointers).
        unsafe { PyBuffer_Release(&mut *self.view) };
    }
}

// ---- exporting received parts --------------------------------------------------------------

/// The instance layout of the `PartBuffer` type: a Python object owning one `Part`.
#[repr(C)]
struct PartObject {
    ob_base: ffi::PyObject,
    part: ManuallyDrop<Part>,
}

/// The heap type, created once and never freed (the module keeps it for its lifetime).
static PART_TYPE: OnceLock<usize> = OnceLock::new();

unsafe extern "C" fn part_getbuffer(obj: *mut ffi::PyObject, view: *mut PyBufferRaw, flags: c_int) -> c_int {
    let this = obj as *mut PartObject;
    let data: &[u8] = &(*this).part;
    // Read-only: a request for a writable buffer fails with BufferError. FillInfo takes a
    // reference to `obj` for view->obj, which keeps the part alive while exported.
    PyBuffer_FillInfo(view, obj, data.as_ptr() as *mut c_void, data.len() as ffi::Py_ssize_t, 1, flags)
}

unsafe extern "C" fn part_dealloc(obj: *mut ffi::PyObject) {
    let tp = ffi::Py_TYPE(obj);
    let this = obj as *mut PartObject;
    ManuallyDrop::drop(&mut (*this).part);
    let free = ffi::PyType_GetSlot(tp, ffi::Py_tp_free);
    if !free.is_null() {
        let free: ffi::freefunc = std::mem::transmute(free);
        free(obj as *mut c_void);
    }
    // Instances of heap types hold a reference to their type.
    ffi::Py_DECREF(tp as *mut ffi::PyObject);
}

/// Creates the `PartBuffer` type; called once at module initialisation.
pub fn init_part_type(py: Python<'_>) -> PyResult<()> {
    if PART_TYPE.get().is_some() {
        return Ok(());
    }
    let mut slots = [
        ffi::PyType_Slot { slot: ffi::Py_tp_dealloc, pfunc: part_dealloc as *mut c_void },
        ffi::PyType_Slot { slot: ffi::Py_bf_getbuffer, pfunc: part_getbuffer as *mut c_void },
        ffi::PyType_Slot {
            slot: ffi::Py_tp_doc,
            pfunc: c"One received etale part, exported read-only through the buffer protocol.".as_ptr() as *mut c_void,
        },
        ffi::PyType_Slot { slot: 0, pfunc: ptr::null_mut() },
    ];
    // PyType_FromSpec copies what it needs out of the spec and the slots.
    let mut spec = ffi::PyType_Spec {
        name: c"emyzelium._emyzelium.PartBuffer".as_ptr(),
        basicsize: std::mem::size_of::<PartObject>() as c_int,
        itemsize: 0,
        flags: ffi::Py_TPFLAGS_DEFAULT as _,
        slots: slots.as_mut_ptr(),
    };
    // SAFETY: GIL held; spec and slots are valid for the call.
    let tp = unsafe { ffi::PyType_FromSpec(&mut spec) };
    if tp.is_null() {
        return Err(PyErr::fetch(py));
    }
    // The one strong reference is kept for the life of the process.
    let _ = PART_TYPE.set(tp as usize);
    Ok(())
}

/// A read-only memoryview of `part`, owning a (data-sharing) clone of it.
pub fn part_view<'py>(py: Python<'py>, part: Part) -> PyResult<Bound<'py, PyAny>> {
    let tp = *PART_TYPE.get().ok_or_else(|| PyRuntimeError::new_err("emyzelium: module not initialised"))?;
    let tp = tp as *mut ffi::PyTypeObject;
    // SAFETY: GIL held; the type's basicsize is that of PartObject, and the part is written
    // before the object can be seen by anyone.
    unsafe {
        let obj = ffi::PyType_GenericAlloc(tp, 0);
        if obj.is_null() {
            return Err(PyErr::fetch(py));
        }
        ptr::write(&mut (*(obj as *mut PartObject)).part, ManuallyDrop::new(part));
        let owner = Bound::from_owned_ptr(py, obj);
        let mv = ffi::PyMemoryView_FromObject(owner.as_ptr());
        if mv.is_null() {
            return Err(PyErr::fetch(py));
        }
        Ok(Bound::from_owned_ptr(py, mv))
    }
}
