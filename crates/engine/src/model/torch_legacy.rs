//! Reader of PyTorch's legacy (pre-zip, torch < 1.6) checkpoint serialization, just enough for
//! `resemblyzer/pretrained.pt`, so that converting the weights needs no Python or torch.
//!
//! The file is five pickles in a row — the magic number, the protocol version (1001), a
//! sys-info dict, the checkpoint object, and the list of storage keys — followed by every
//! storage in that list's order, each as an int64 element count and the raw little-endian data.
//! Tensors inside the checkpoint are `torch._utils._rebuild_tensor_v2(storage, offset, size,
//! stride, …)` calls whose storage is a persistent id `('storage', FloatStorage, key, location,
//! numel, …)`. Only float32 tensors can be extracted; storages of other types (the optimizer's
//! state may hold some) are skipped over by their element size.

use std::collections::HashMap;

use super::ModelError;

/// The magic number pickled first: 0x1950a86a20f9469cfc6c, as a little-endian LONG1 payload.
const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
const PROTOCOL_VERSION: i64 = 1001;

/// A float32 tensor of the checkpoint, with its data copied out (contiguous, row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// The unpickled values this file can contain. Objects that are neither containers nor
/// tensors (optimizer settings, `BUILD` states) are kept as `Opaque`: they are never looked into.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    None,
    Bool(bool),
    Int(i64),
    /// An integer too large for i64 (the magic number), as its little-endian bytes.
    BigInt(Vec<u8>),
    Float(f64),
    Str(String),
    Tuple(Vec<Value>),
    List(Vec<Value>),
    Dict(Vec<(Value, Value)>),
    Global(String, String),
    Storage { key: String, element_size: usize },
    Tensor(TensorRef),
    Opaque,
}

/// A tensor as the pickle describes it: a strided view of a storage.
#[derive(Debug, Clone, PartialEq)]
struct TensorRef {
    key: String,
    offset: usize,
    shape: Vec<usize>,
    stride: Vec<usize>,
}

/// Extracts every float32 tensor found under the top-level key `section` of the checkpoint
/// (e.g. `model_state`), by name.
pub fn read_tensors(bytes: &[u8], section: &str) -> Result<HashMap<String, Tensor>, ModelError> {
    let mut r = Reader { bytes, pos: 0, element_sizes: HashMap::new() };
    let magic = r.pickle()?;
    if magic != Value::BigInt(MAGIC.to_vec()) {
        return Err(bad("not a legacy PyTorch file (wrong magic number)"));
    }
    if r.pickle()? != Value::Int(PROTOCOL_VERSION) {
        return Err(bad("unsupported legacy PyTorch protocol version"));
    }
    let _sys_info = r.pickle()?;
    let checkpoint = r.pickle()?;
    let Value::List(keys) = r.pickle()? else { return Err(bad("storage key list missing")) };
    let element_sizes = std::mem::take(&mut r.element_sizes);

    // Locate each storage's data; the order is the key list's.
    let mut storages: HashMap<String, (usize, usize)> = HashMap::new(); // key → (data start, numel)
    for key in keys {
        let Value::Str(key) = key else { return Err(bad("storage key is not a string")) };
        let numel = usize::try_from(r.i64_le()?).map_err(|_| bad("negative storage size"))?;
        let size = *element_sizes.get(&key).ok_or_else(|| bad("storage of unknown type"))?;
        let start = r.pos;
        r.take(numel.checked_mul(size).ok_or_else(|| bad("storage size overflows"))?)?;
        storages.insert(key, (start, numel));
    }

    let Value::Dict(items) = checkpoint else { return Err(bad("checkpoint is not a dict")) };
    let Some((_, Value::Dict(state))) = items.into_iter().find(|(k, _)| *k == Value::Str(section.to_owned()))
    else {
        return Err(bad(&format!("checkpoint has no `{section}` dict")));
    };
    let mut tensors = HashMap::new();
    for (name, value) in state {
        let (Value::Str(name), Value::Tensor(t)) = (name, value) else { continue };
        if element_sizes.get(&t.key) != Some(&4) {
            continue;
        }
        let &(start, numel) = storages.get(&t.key).ok_or_else(|| bad("tensor of a missing storage"))?;
        tensors.insert(name, gather(bytes, start, numel, &t)?);
    }
    Ok(tensors)
}

/// Copies a strided float32 view out of its storage, checking every index against the storage.
fn gather(bytes: &[u8], start: usize, numel: usize, t: &TensorRef) -> Result<Tensor, ModelError> {
    let count: usize = t.shape.iter().product();
    let mut data = Vec::with_capacity(count);
    let mut index = vec![0usize; t.shape.len()];
    for _ in 0..count {
        let element = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
        if element >= numel {
            return Err(bad("tensor view outside its storage"));
        }
        let at = start + 4 * element;
        data.push(f32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]));
        for d in (0..index.len()).rev() {
            index[d] += 1;
            if index[d] < t.shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
    Ok(Tensor { shape: t.shape.clone(), data })
}

fn bad(what: &str) -> ModelError {
    ModelError::Format(format!("pretrained.pt: {what}"))
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    /// Element size of every storage named by a persistent id so far, by key.
    element_sizes: HashMap<String, usize>,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ModelError> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| bad("truncated"))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, ModelError> {
        Ok(self.take(1)?[0])
    }
    fn u16_le(&mut self) -> Result<u16, ModelError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32_le(&mut self) -> Result<u32, ModelError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn i64_le(&mut self) -> Result<i64, ModelError> {
        let b = self.take(8)?;
        Ok(i64::from_le_bytes(b.try_into().map_err(|_| bad("truncated"))?))
    }
    fn line(&mut self) -> Result<String, ModelError> {
        let rest = &self.bytes[self.pos..];
        let n = rest.iter().position(|&b| b == b'\n').ok_or_else(|| bad("unterminated line"))?;
        let s = String::from_utf8(rest[..n].to_vec()).map_err(|_| bad("non-UTF-8 name"))?;
        self.pos += n + 1;
        Ok(s)
    }
    fn utf8(&mut self, n: usize) -> Result<Value, ModelError> {
        let b = self.take(n)?;
        Ok(Value::Str(String::from_utf8(b.to_vec()).map_err(|_| bad("invalid UTF-8 string"))?))
    }

    /// Runs the pickle machine up to its STOP and returns the result. Memoized values are
    /// copies: this file never mutates an object after referencing it twice.
    fn pickle(&mut self) -> Result<Value, ModelError> {
        let mut stack: Vec<Value> = Vec::new();
        let mut marks: Vec<usize> = Vec::new();
        let mut memo: HashMap<u32, Value> = HashMap::new();
        let pop = |stack: &mut Vec<Value>| stack.pop().ok_or_else(|| bad("pickle stack underflow"));
        let pop_mark = |stack: &mut Vec<Value>, marks: &mut Vec<usize>| -> Result<Vec<Value>, ModelError> {
            let m = marks.pop().ok_or_else(|| bad("pickle mark missing"))?;
            if m > stack.len() {
                return Err(bad("pickle mark beyond stack"));
            }
            Ok(stack.split_off(m))
        };
        loop {
            let op = self.u8()?;
            match op {
                0x80 => {
                    self.u8()?; // PROTO n
                }
                b'.' => return pop(&mut stack), // STOP
                b'(' => marks.push(stack.len()), // MARK
                b'N' => stack.push(Value::None),
                0x88 => stack.push(Value::Bool(true)),
                0x89 => stack.push(Value::Bool(false)),
                b'J' => stack.push(Value::Int(i64::from(self.u32_le()? as i32))),
                b'K' => stack.push(Value::Int(i64::from(self.u8()?))),
                b'M' => stack.push(Value::Int(i64::from(self.u16_le()?))),
                0x8a => {
                    // LONG1: n bytes, little-endian two's complement.
                    let n = usize::from(self.u8()?);
                    let b = self.take(n)?;
                    stack.push(if n <= 8 {
                        let fill = if b.last().is_some_and(|&x| x & 0x80 != 0) { 0xff } else { 0 };
                        let mut le = [fill; 8];
                        le[..n].copy_from_slice(b);
                        Value::Int(i64::from_le_bytes(le))
                    } else {
                        Value::BigInt(b.to_vec())
                    });
                }
                b'G' => {
                    let b = self.take(8)?;
                    stack.push(Value::Float(f64::from_be_bytes(b.try_into().map_err(|_| bad("truncated"))?)));
                }
                b'X' => {
                    let n = self.u32_le()? as usize;
                    let v = self.utf8(n)?;
                    stack.push(v);
                }
                0x8c => {
                    let n = usize::from(self.u8()?);
                    let v = self.utf8(n)?;
                    stack.push(v);
                }
                b'U' => {
                    let n = usize::from(self.u8()?);
                    let v = self.utf8(n)?;
                    stack.push(v);
                }
                b'T' => {
                    let n = self.u32_le()? as usize;
                    let v = self.utf8(n)?;
                    stack.push(v);
                }
                b')' => stack.push(Value::Tuple(Vec::new())),
                b']' => stack.push(Value::List(Vec::new())),
                b'}' => stack.push(Value::Dict(Vec::new())),
                b't' => {
                    let items = pop_mark(&mut stack, &mut marks)?;
                    stack.push(Value::Tuple(items));
                }
                0x85..=0x87 => {
                    let n = usize::from(op - 0x84);
                    if stack.len() < n {
                        return Err(bad("pickle stack underflow"));
                    }
                    let items = stack.split_off(stack.len() - n);
                    stack.push(Value::Tuple(items));
                }
                b'l' => {
                    let items = pop_mark(&mut stack, &mut marks)?;
                    stack.push(Value::List(items));
                }
                b'a' => {
                    let v = pop(&mut stack)?;
                    match stack.last_mut() {
                        Some(Value::List(l)) => l.push(v),
                        _ => return Err(bad("APPEND to a non-list")),
                    }
                }
                b'e' => {
                    let items = pop_mark(&mut stack, &mut marks)?;
                    match stack.last_mut() {
                        Some(Value::List(l)) => l.extend(items),
                        _ => return Err(bad("APPENDS to a non-list")),
                    }
                }
                b's' => {
                    let v = pop(&mut stack)?;
                    let k = pop(&mut stack)?;
                    match stack.last_mut() {
                        Some(Value::Dict(d)) => d.push((k, v)),
                        _ => return Err(bad("SETITEM on a non-dict")),
                    }
                }
                b'u' => {
                    let items = pop_mark(&mut stack, &mut marks)?;
                    if items.len() % 2 != 0 {
                        return Err(bad("SETITEMS with an odd item count"));
                    }
                    let Some(Value::Dict(d)) = stack.last_mut() else { return Err(bad("SETITEMS on a non-dict")) };
                    let mut it = items.into_iter();
                    while let (Some(k), Some(v)) = (it.next(), it.next()) {
                        d.push((k, v));
                    }
                }
                b'q' => {
                    let i = u32::from(self.u8()?);
                    memo.insert(i, stack.last().cloned().ok_or_else(|| bad("BINPUT on empty stack"))?);
                }
                b'r' => {
                    let i = self.u32_le()?;
                    memo.insert(i, stack.last().cloned().ok_or_else(|| bad("LONG_BINPUT on empty stack"))?);
                }
                b'h' => {
                    let i = u32::from(self.u8()?);
                    stack.push(memo.get(&i).cloned().ok_or_else(|| bad("BINGET of unknown memo"))?);
                }
                b'j' => {
                    let i = self.u32_le()?;
                    stack.push(memo.get(&i).cloned().ok_or_else(|| bad("LONG_BINGET of unknown memo"))?);
                }
                b'c' => {
                    let module = self.line()?;
                    let name = self.line()?;
                    stack.push(Value::Global(module, name));
                }
                b'Q' => {
                    let pid = pop(&mut stack)?;
                    stack.push(self.persistent(pid)?);
                }
                b'R' => {
                    let args = pop(&mut stack)?;
                    let callable = pop(&mut stack)?;
                    stack.push(reduce(callable, args)?);
                }
                0x81 => {
                    // NEWOBJ: cls.__new__(cls, *args); nothing this file needs looks inside.
                    pop(&mut stack)?;
                    pop(&mut stack)?;
                    stack.push(Value::Opaque);
                }
                b'b' => {
                    // BUILD: sets an object's state (e.g. a state dict's `_metadata`); ignored.
                    pop(&mut stack)?;
                    if stack.is_empty() {
                        return Err(bad("BUILD on empty stack"));
                    }
                }
                other => return Err(bad(&format!("unsupported pickle opcode 0x{other:02x}"))),
            }
        }
    }

    /// Resolves `('storage', StorageType, key, location, numel, …)`.
    fn persistent(&mut self, pid: Value) -> Result<Value, ModelError> {
        let Value::Tuple(parts) = pid else { return Err(bad("persistent id is not a tuple")) };
        match parts.as_slice() {
            [Value::Str(kind), Value::Global(_, type_name), Value::Str(key), ..] if kind == "storage" => {
                let element_size = match type_name.as_str() {
                    "FloatStorage" | "IntStorage" => 4,
                    "DoubleStorage" | "LongStorage" => 8,
                    "HalfStorage" | "ShortStorage" | "BFloat16Storage" => 2,
                    "ByteStorage" | "CharStorage" | "BoolStorage" => 1,
                    other => return Err(bad(&format!("unsupported storage type {other}"))),
                };
                self.element_sizes.insert(key.clone(), element_size);
                Ok(Value::Storage { key: key.clone(), element_size })
            }
            _ => Err(bad("unsupported persistent id")),
        }
    }
}

/// Applies the only calls whose results matter: tensor rebuilds and `OrderedDict()`.
fn reduce(callable: Value, args: Value) -> Result<Value, ModelError> {
    let Value::Global(module, name) = callable else { return Ok(Value::Opaque) };
    match (module.as_str(), name.as_str()) {
        ("collections", "OrderedDict") => Ok(Value::Dict(Vec::new())),
        ("torch._utils", "_rebuild_tensor_v2") | ("torch._utils", "_rebuild_tensor") => {
            let Value::Tuple(a) = args else { return Err(bad("tensor rebuild without arguments")) };
            match a.as_slice() {
                [Value::Storage { key, .. }, Value::Int(offset), Value::Tuple(size), Value::Tuple(stride), ..] => {
                    let dims = |t: &[Value]| -> Result<Vec<usize>, ModelError> {
                        t.iter()
                            .map(|v| match v {
                                Value::Int(i) => usize::try_from(*i).map_err(|_| bad("negative dimension")),
                                _ => Err(bad("non-integer dimension")),
                            })
                            .collect()
                    };
                    Ok(Value::Tensor(TensorRef {
                        key: key.clone(),
                        offset: usize::try_from(*offset).map_err(|_| bad("negative offset"))?,
                        shape: dims(size)?,
                        stride: dims(stride)?,
                    }))
                }
                _ => Err(bad("unexpected tensor rebuild arguments")),
            }
        }
        _ => Ok(Value::Opaque),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Opcode builders for a hand-made legacy stream.
    fn unicode(s: &str) -> Vec<u8> {
        let mut v = vec![b'X'];
        v.extend_from_slice(&(s.len() as u32).to_le_bytes());
        v.extend_from_slice(s.as_bytes());
        v
    }
    fn global(module: &str, name: &str) -> Vec<u8> {
        format!("c{module}\n{name}\n").into_bytes()
    }
    fn ordered_dict() -> Vec<u8> {
        [global("collections", "OrderedDict"), vec![b')', b'R']].concat()
    }
    /// `_rebuild_tensor_v2(('storage', Type, key, 'cpu', numel), offset, size, stride, False, OrderedDict())`
    fn tensor(storage_type: &str, key: &str, numel: u8, offset: u8, size: [u8; 2], stride: [u8; 2]) -> Vec<u8> {
        [
            global("torch._utils", "_rebuild_tensor_v2"),
            vec![b'('],
            vec![b'('],
            unicode("storage"),
            global("torch", storage_type),
            unicode(key),
            unicode("cpu"),
            vec![b'K', numel, b't', b'Q'],
            vec![b'K', offset],
            vec![b'K', size[0], b'K', size[1], 0x86],
            vec![b'K', stride[0], b'K', stride[1], 0x86],
            vec![0x89],
            ordered_dict(),
            vec![b't', b'R'],
        ]
        .concat()
    }

    fn stream() -> Vec<u8> {
        let mut s = Vec::new();
        // 1. magic number, 2. protocol version, 3. sys info
        s.extend([0x80, 2, 0x8a, 10]);
        s.extend(MAGIC);
        s.push(b'.');
        s.extend([0x80, 2, b'M', 0xe9, 0x03, b'.']);
        s.extend([0x80, 2, b'}', b'q', 0, b'(']);
        s.extend(unicode("little_endian"));
        s.extend([0x88, b'u', b'.']);
        // 4. checkpoint: {"model_state": OrderedDict(w=…), "optimizer_state": {"m": LongStorage tensor}}
        s.extend([0x80, 2, b'}', b'q', 0, b'(']);
        s.extend(unicode("model_state"));
        s.extend(ordered_dict());
        s.extend([b'q', 1, b'(']);
        s.extend(unicode("w"));
        s.extend(tensor("FloatStorage", "k1", 6, 1, [2, 2], [1, 2]));
        s.extend(unicode("lr"));
        s.push(b'G');
        s.extend(0.5f64.to_be_bytes());
        s.extend([b'u', b'}', b'b']); // BUILD with an empty state, like a state dict's _metadata
        s.extend(unicode("optimizer_state"));
        s.push(b'}');
        s.extend(unicode("m"));
        s.extend(tensor("LongStorage", "k2", 2, 0, [1, 2], [2, 1]));
        s.extend([b's', b'u', b'.']);
        // 5. storage keys
        s.extend([0x80, 2, b']', b'q', 0, b'(']);
        s.extend(unicode("k1"));
        s.extend(unicode("k2"));
        s.extend([b'e', b'.']);
        // storages: k1 = 0..6 as f32, k2 = two int64
        s.extend(6i64.to_le_bytes());
        for v in 0..6 {
            s.extend((v as f32).to_le_bytes());
        }
        s.extend(2i64.to_le_bytes());
        s.extend(7i64.to_le_bytes());
        s.extend(9i64.to_le_bytes());
        s
    }

    #[test]
    fn reads_a_strided_tensor_and_skips_other_storages() {
        let tensors = read_tensors(&stream(), "model_state").unwrap();
        assert_eq!(tensors.len(), 1);
        assert_eq!(tensors["w"], Tensor { shape: vec![2, 2], data: vec![1.0, 3.0, 2.0, 4.0] });
        // The optimizer's int64 tensor is not a float tensor: skipped, not misread.
        assert!(read_tensors(&stream(), "optimizer_state").unwrap().is_empty());
    }

    #[test]
    fn rejects_damaged_streams() {
        let s = stream();
        assert!(read_tensors(&s[..s.len() - 1], "model_state").is_err(), "truncated storage");
        let mut wrong_magic = s.clone();
        wrong_magic[4] ^= 1;
        assert!(read_tensors(&wrong_magic, "model_state").is_err());
        assert!(read_tensors(&s, "no_such_section").is_err());
        assert!(read_tensors(&[], "model_state").is_err());
        for cut in 0..200 {
            let _ = read_tensors(&s[..cut], "model_state"); // no panic on any prefix
        }
    }
}
