using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace Stilts.Checkpoints;

/// <summary>
/// A restricted unpickler for the pickles <c>torch.save</c> writes for a state dict. It knows the opcodes of
/// protocols 2-4 that such files use and resolves only the globals needed to describe tensors; any other global
/// (os.system, builtins.eval, torch.storage._load_from_bytes, ...) is refused at the GLOBAL opcode, before it could
/// be called. Nothing here runs code or touches torch: tensors come out as <see cref="TensorRef"/> descriptions that
/// <see cref="PyTorchBin"/> checks against the storages before building anything.
/// </summary>
internal sealed class TorchPickle
{
    /// <summary>A Python global named by GLOBAL / STACK_GLOBAL, e.g. ("torch", "FloatStorage").</summary>
    internal sealed record PyGlobal(string Module, string Name)
    {
        public override string ToString() => $"{Module}.{Name}";
    }

    /// <summary>A storage named by a persistent id: its zip entry key, element type and element count.</summary>
    internal sealed record StorageRef(string Key, ScalarType DType, long Numel);

    /// <summary>A tensor as _rebuild_tensor_v2 describes it: a strided view into a storage.</summary>
    internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Size, long[] Stride);

    /// <summary>The only objects a state-dict pickle may reference, and what each one is for.</summary>
    static readonly Dictionary<string, ScalarType> StorageTypes = new()
    {
        ["FloatStorage"] = ScalarType.Float32, ["DoubleStorage"] = ScalarType.Float64,
        ["HalfStorage"] = ScalarType.Float16, ["BFloat16Storage"] = ScalarType.BFloat16,
        ["LongStorage"] = ScalarType.Int64, ["IntStorage"] = ScalarType.Int32, ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8, ["ByteStorage"] = ScalarType.Byte, ["BoolStorage"] = ScalarType.Bool,
    };

    static readonly HashSet<string> CallableGlobals =
    [
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state",
    ];

    // Caps that keep a hostile pickle from growing memory beyond a small multiple of its own size.
    const int MaxMemo = 1 << 22;
    const int MaxStack = 1 << 22;
    const int MaxPushes = 1 << 23; // a state dict pushes ~30 objects per tensor; this bounds what a pickle can build
    const int MaxLongBytes = 64;

    sealed class Mark { public static readonly Mark Instance = new(); }

    readonly byte[] _data;
    readonly string _where;
    readonly Func<object?[], StorageRef> _persistentLoad;
    readonly List<object?> _stack = [];
    readonly List<int> _marks = [];
    readonly Dictionary<long, object?> _memo = [];
    int _pos;
    int _pushes;

    TorchPickle(byte[] data, string where, Func<object?[], StorageRef> persistentLoad)
    {
        _data = data;
        _where = where;
        _persistentLoad = persistentLoad;
    }

    /// <summary>
    /// Unpickles one object. Python values map to: None → null, bool, int → long (or BigInteger), float → double,
    /// str → string, bytes → byte[], tuple → object?[], list → List&lt;object?&gt;, dict → OrderedDictionary.
    /// <paramref name="persistentLoad"/> turns a BINPERSID tuple into a storage (and throws if it is not one).
    /// </summary>
    internal static object? Load(byte[] data, string where, Func<object?[], StorageRef> persistentLoad)
    {
        int position = 0;
        return Load(data, ref position, where, persistentLoad);
    }

    /// <summary>Unpickles the object starting at <paramref name="position"/> and moves it past the STOP opcode.</summary>
    internal static object? Load(byte[] data, ref int position, string where, Func<object?[], StorageRef> persistentLoad)
    {
        var unpickler = new TorchPickle(data, where, persistentLoad) { _pos = position };
        var result = unpickler.Run();
        position = unpickler._pos;
        return result;
    }

    /// <summary>Reads a ('storage', StorageType, key, location, numel) persistent id, as torch's zip format writes it.</summary>
    internal static StorageRef ParseStoragePid(object?[] pid, string where)
    {
        if (pid.Length < 5 || pid[0] is not "storage")
            throw new InvalidInputException(where, $"persistent id is not a ('storage', type, key, location, numel) tuple: {Describe(pid)}");
        if (pid[1] is not PyGlobal { Module: "torch" } type || !StorageTypes.TryGetValue(type.Name, out var dtype))
            throw new InvalidInputException(where, $"unsupported storage type {Describe(pid[1])} (expected torch.FloatStorage, HalfStorage, BFloat16Storage, LongStorage, ...)");
        if (pid[2] is not string key) throw new InvalidInputException(where, $"storage key {Describe(pid[2])} is not a string");
        if (pid[4] is not long numel || numel < 0 || numel > long.MaxValue / 8) throw new InvalidInputException(where, $"storage '{key}' has an invalid element count {Describe(pid[4])}");
        return new StorageRef(key, dtype, numel);
    }

    object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Bad("pickle ends without a STOP opcode (truncated file?)");
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    if (ReadByte() > 5) throw Bad($"pickle protocol {_data[_pos - 1]} is not supported");
                    break;
                case 0x95: ReadBytes(8); break; // FRAME: a length hint for buffered readers; the data is in memory
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0) throw Bad($"STOP with {_stack.Count} objects on the stack");
                    return _stack[0];
                case (byte)'(': if (_marks.Count >= MaxStack) throw Bad("too many MARKs"); _marks.Add(_stack.Count); break;
                case (byte)'0': Pop(); break; // POP
                case (byte)'1': PopMark(); break; // POP_MARK
                case (byte)'2': Push(Peek()); break; // DUP
                case (byte)'N': Push(null); break;
                case 0x88: Push(true); break; // NEWTRUE
                case 0x89: Push(false); break; // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4))); break; // BININT
                case (byte)'K': Push((long)ReadByte()); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2))); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                case 0x8b: Push(ReadLong(ReadLength(4))); break; // LONG4
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8))); break; // BINFLOAT
                case (byte)'X': Push(ReadString(ReadLength(4))); break; // BINUNICODE
                case 0x8c: Push(ReadString(ReadByte())); break; // SHORT_BINUNICODE
                case 0x8d: Push(ReadString(ReadLength(8))); break; // BINUNICODE8
                case (byte)'T': Push(ReadLatin1(ReadLength(4))); break; // BINSTRING (Python 2 str)
                case (byte)'U': Push(ReadLatin1(ReadByte())); break; // SHORT_BINSTRING
                case (byte)'B': Push(ReadBytes(ReadLength(4)).ToArray()); break; // BINBYTES
                case (byte)'C': Push(ReadBytes(ReadByte()).ToArray()); break; // SHORT_BINBYTES
                case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                case (byte)'l': Push(PopMark()); break; // LIST
                case (byte)'a': { var v = Pop(); AsList(Peek()).Add(v); break; } // APPEND
                case (byte)'e': { var items = PopMark(); AsList(Peek()).AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new OrderedDictionary<object, object?>()); break; // EMPTY_DICT
                case (byte)'d': { var d = new OrderedDictionary<object, object?>(); SetItems(d, PopMark()); Push(d); break; } // DICT
                case (byte)'s': { var v = Pop(); var k = Pop(); SetItems(AsDict(Peek()), [k, v]); break; } // SETITEM
                case (byte)'u': { var items = PopMark(); SetItems(AsDict(Peek()), items); break; } // SETITEMS
                case (byte)'c': Push(Global(ReadLine(), ReadLine())); break; // GLOBAL
                case 0x93: { var name = Pop(); var module = Pop(); Push(Global(module as string ?? "?", name as string ?? "?")); break; } // STACK_GLOBAL
                case (byte)'R': { var args = Pop(); var func = Pop(); Push(Reduce(func, args)); break; } // REDUCE
                case (byte)'b': { var state = Pop(); Build(Peek(), state); break; } // BUILD
                case (byte)'Q': Push(_persistentLoad(Pop() as object?[] ?? throw Bad("BINPERSID argument is not a tuple"))); break;
                case (byte)'q': Memo(ReadByte()); break; // BINPUT
                case (byte)'r': Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))); break; // LONG_BINPUT
                case 0x94: Memo(_memo.Count); break; // MEMOIZE
                case (byte)'h': Push(Recall(ReadByte())); break; // BINGET
                case (byte)'j': Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)))); break; // LONG_BINGET
                default:
                    throw new InvalidInputException(_where, $"pickle opcode 0x{op:x2} at byte {at} is not allowed in a checkpoint");
            }
        }
    }

    PyGlobal Global(string module, string name)
    {
        var g = new PyGlobal(module, name);
        bool storageType = module == "torch" && StorageTypes.ContainsKey(name);
        if (!storageType && !CallableGlobals.Contains(g.ToString()))
            throw new InvalidInputException(_where, $"forbidden global {g} in the pickle (only tensor-rebuilding globals are allowed)");
        return g;
    }

    object? Reduce(object? func, object? args)
    {
        if (func is not PyGlobal g) throw Bad($"REDUCE on {Describe(func)}, which is not a callable global");
        var a = args as object?[] ?? throw Bad($"REDUCE arguments of {g} are not a tuple");
        switch (g.ToString())
        {
            case "collections.OrderedDict":
                if (a.Length != 0) throw Bad("OrderedDict(...) with arguments is not supported");
                return new OrderedDictionary<object, object?>();
            case "torch._utils._rebuild_tensor_v2":
                // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
                if (a.Length is < 6 or > 7) throw Bad($"_rebuild_tensor_v2 takes 6 or 7 arguments, got {a.Length}");
                var storage = a[0] as StorageRef ?? throw Bad($"_rebuild_tensor_v2 storage argument is {Describe(a[0])}");
                if (a[1] is not long offset) throw Bad($"_rebuild_tensor_v2 storage offset is {Describe(a[1])}");
                return new TensorRef(storage, offset, Longs(a[2], "size"), Longs(a[3], "stride"));
            case "torch._utils._rebuild_parameter": // (data, requires_grad, backward_hooks)
            case "torch._utils._rebuild_parameter_with_state": // (data, requires_grad, backward_hooks, state)
                return a.Length >= 1 && a[0] is TensorRef t ? t : throw Bad($"{g} expects a tensor as its first argument");
            default:
                throw Bad($"{g} cannot be called");
        }
    }

    void Build(object? target, object? state)
    {
        // torch.save(model.state_dict()) pickles the OrderedDict's _metadata attribute (module versions) via BUILD.
        if (target is OrderedDictionary<object, object?>) return;
        throw Bad($"BUILD on {Describe(target)} is not supported");
    }

    long[] Longs(object? value, string what)
    {
        if (value is not object?[] items) throw Bad($"tensor {what} is {Describe(value)}, not a tuple");
        var result = new long[items.Length];
        for (int i = 0; i < items.Length; i++)
            result[i] = items[i] is long v ? v : throw Bad($"tensor {what} holds {Describe(items[i])}, not an int");
        return result;
    }

    void SetItems(OrderedDictionary<object, object?> dict, List<object?> items)
    {
        if (items.Count % 2 != 0) throw Bad("SETITEMS with an odd number of items");
        for (int i = 0; i < items.Count; i += 2)
        {
            object key = items[i] switch
            {
                string or long or bool => items[i]!,
                var other => throw Bad($"dict key {Describe(other)} is not a str or int"),
            };
            dict[key] = items[i + 1];
        }
    }

    List<object?> AsList(object? o) => o as List<object?> ?? throw Bad($"APPEND on {Describe(o)}, not a list");
    OrderedDictionary<object, object?> AsDict(object? o) => o as OrderedDictionary<object, object?> ?? throw Bad($"SETITEM on {Describe(o)}, not a dict");

    void Push(object? o)
    {
        if (_stack.Count >= MaxStack) throw Bad($"more than {MaxStack} objects on the stack");
        if (++_pushes > MaxPushes) throw Bad($"more than {MaxPushes} objects built");
        _stack.Add(o);
    }

    object? Pop()
    {
        if (_stack.Count == 0 || (_marks.Count > 0 && _marks[^1] == _stack.Count)) throw Bad("stack underflow");
        var o = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return o;
    }

    object? Peek() => _stack.Count > 0 ? _stack[^1] : throw Bad("stack underflow");

    List<object?> PopMark()
    {
        if (_marks.Count == 0) throw Bad("missing MARK");
        int start = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        var items = _stack.GetRange(start, _stack.Count - start);
        _stack.RemoveRange(start, _stack.Count - start);
        return items;
    }

    void Memo(long index)
    {
        if (_memo.Count >= MaxMemo && !_memo.ContainsKey(index)) throw Bad($"more than {MaxMemo} memo entries");
        _memo[index] = Peek();
    }

    object? Recall(long index) => _memo.TryGetValue(index, out var o) ? o : throw Bad($"memo entry {index} used before it was stored");

    byte ReadByte() => ReadBytes(1)[0];

    ReadOnlySpan<byte> ReadBytes(long n)
    {
        if (n < 0 || n > _data.Length - _pos) throw Bad($"pickle is truncated: {n} bytes needed at byte {_pos}, {_data.Length - _pos} left");
        var span = _data.AsSpan(_pos, (int)n);
        _pos += (int)n;
        return span;
    }

    long ReadLength(int width)
    {
        var b = ReadBytes(width);
        ulong n = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(b) : BinaryPrimitives.ReadUInt64LittleEndian(b);
        // Any length beyond what is left of the pickle is a lie; checking here means no allocation is ever larger than the file.
        if (n > (ulong)(_data.Length - _pos)) throw Bad($"pickle is truncated: a {n}-byte item at byte {_pos}, {_data.Length - _pos} bytes left");
        return (long)n;
    }

    object ReadLong(long n)
    {
        if (n > MaxLongBytes) throw Bad($"a {n}-byte integer is too large for a checkpoint");
        var big = new BigInteger(ReadBytes(n), isUnsigned: false, isBigEndian: false);
        return big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big; // the cast keeps it a long, not a BigInteger
    }

    string ReadString(long n)
    {
        try { return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(ReadBytes(n)); }
        catch (DecoderFallbackException) { throw Bad($"string before byte {_pos} is not valid UTF-8"); }
    }

    string ReadLatin1(long n) => Encoding.Latin1.GetString(ReadBytes(n));

    string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0 || end - _pos > 256) throw Bad($"GLOBAL name at byte {_pos} is not a short newline-terminated line");
        string s = Encoding.ASCII.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return s;
    }

    InvalidInputException Bad(string problem) => new(_where, $"malformed pickle: {problem}");

    /// <summary>A short Python-like rendering for error messages; depth-limited, since a hostile pickle can nest deeply.</summary>
    internal static string Describe(object? o) => Describe(o, 3);

    static string Describe(object? o, int depth) => o switch
    {
        null => "None",
        string s => $"'{(s.Length > 40 ? s[..40] + "..." : s)}'",
        object?[] when depth == 0 => "(...)",
        object?[] t => $"({string.Join(", ", t.Take(6).Select(x => Describe(x, depth - 1)))}{(t.Length > 6 ? ", ..." : "")})",
        PyGlobal g => g.ToString(),
        long or double or bool or BigInteger => o.ToString()!,
        _ => o.GetType().Name,
    };
}
