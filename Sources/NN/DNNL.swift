import CDNNL

// The thin Swift side of oneDNN's C API that the layers share: one engine and
// stream per process, memory descriptors, memory objects over our buffers,
// primitives created once and executed many times, and reorders.
//
// A failed oneDNN call is a programming error here (the layers validate their
// shapes at init), so it stops the process with the call and the status.

/// Stops with `what` and oneDNN's status name unless `status` is success.
@inline(__always)
func dnnlCheck(_ status: dnnl_status_t, _ what: @autoclosure () -> String) {
    if status != dnnl_success {
        fatalError("oneDNN: \(what()) failed: \(String(cString: dnnl_status2str(status)))")
    }
}

/// The CPU engine and the in-order stream every primitive runs on.
final class DNNLRuntime: @unchecked Sendable {
    static let shared = DNNLRuntime()
    let engine: dnnl_engine_t
    let stream: dnnl_stream_t

    private init() {
        var engine: dnnl_engine_t?
        dnnlCheck(dnnl_engine_create(&engine, dnnl_cpu, 0), "engine_create")
        var stream: dnnl_stream_t?
        dnnlCheck(dnnl_stream_create(&stream, engine, dnnl_stream_default_flags.rawValue), "stream_create")
        self.engine = engine!
        self.stream = stream!
    }
}

/// A dense f32 memory descriptor of `dims` (oneDNN's logical order: N, C, H, W
/// for images, N, C for vectors; O, I, H, W for weights) in layout `tag`.
/// `dnnl_format_tag_any` lets the primitive choose.
func memoryDesc(_ dims: [Int], _ tag: dnnl_format_tag_t) -> dnnl_memory_desc_t {
    var md = dnnl_memory_desc_t()
    var d = dimsTuple(dims)
    withUnsafePointer(to: &d) { p in
        p.withMemoryRebound(to: dnnl_dim_t.self, capacity: Int(DNNL_MAX_NDIMS)) { dp in
            dnnlCheck(dnnl_memory_desc_init_by_tag(&md, Int32(dims.count), dp, dnnl_f32, tag), "memory_desc_init \(dims)")
        }
    }
    return md
}

/// `values` in a dnnl_dims_t (12 entries, the rest zero).
func dimsTuple(_ values: [Int]) -> dnnl_dims_t {
    precondition(values.count <= Int(DNNL_MAX_NDIMS))
    var t: dnnl_dims_t = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &t) { raw in
        for (i, v) in values.enumerated() { raw.storeBytes(of: dnnl_dim_t(v), toByteOffset: i * 8, as: dnnl_dim_t.self) }
    }
    return t
}

/// Calls `body` with pointers to dnnl_dims_t tuples of each array in `lists`.
func withDims<R>(_ lists: [[Int]], _ body: ([UnsafePointer<dnnl_dim_t>]) -> R) -> R {
    let tuples = UnsafeMutablePointer<dnnl_dims_t>.allocate(capacity: lists.count)
    defer { tuples.deallocate() }
    for (i, l) in lists.enumerated() { (tuples + i).initialize(to: dimsTuple(l)) }
    let pointers = (0..<lists.count).map {
        UnsafeRawPointer(tuples + $0).assumingMemoryBound(to: dnnl_dim_t.self)
    }
    return body(pointers)
}

func sameLayout(_ a: dnnl_memory_desc_t, _ b: dnnl_memory_desc_t) -> Bool {
    var (x, y) = (a, b)
    return dnnl_memory_desc_equal(&x, &y) != 0
}

/// A oneDNN memory object. Either over a buffer we own elsewhere (its handle
/// is set before each execution with `point(at:)`), or over a buffer oneDNN
/// allocates for it (blocked weights, workspaces).
final class DNNLMemory {
    let memory: dnnl_memory_t
    let desc: dnnl_memory_desc_t

    /// A memory object whose buffer is given later by `point(at:)`.
    init(_ desc: dnnl_memory_desc_t) {
        self.desc = desc
        var d = desc
        var m: dnnl_memory_t?
        dnnlCheck(dnnl_memory_create(&m, &d, DNNLRuntime.shared.engine, nil), "memory_create")
        memory = m!
    }

    /// A memory object with its own buffer, allocated by oneDNN.
    init(owning desc: dnnl_memory_desc_t) {
        self.desc = desc
        var d = desc
        var m: dnnl_memory_t?
        dnnlCheck(dnnl_memory_create(&m, &d, DNNLRuntime.shared.engine, cdnnl_memory_allocate()), "memory_create")
        memory = m!
    }

    deinit { dnnl_memory_destroy(memory) }

    /// Points the memory object at `data` (a buffer laid out as `desc`).
    @inline(__always)
    func point(at data: UnsafeRawPointer) {
        dnnlCheck(dnnl_memory_set_data_handle_v2(memory, UnsafeMutableRawPointer(mutating: data), DNNLRuntime.shared.stream),
                  "memory_set_data_handle")
    }
}

/// What a layer's primitives depend on besides its shapes. oneDNN fixes a
/// primitive's thread count (its OpenMP team) and its post-ops when it is
/// created, so a layer reuses its primitives only under the same settings.
struct PlanKey: Hashable {
    let batch: Int
    let threads: Int
    let fusedReLU: Bool

    /// The key for `batch` under the current thread count.
    init(batch: Int, fusedReLU: Bool = false) {
        self.batch = batch
        threads = ComputeKernels.threadCount
        self.fusedReLU = fusedReLU
    }
}

/// A layer's plans (its primitives and memory objects) by `PlanKey`, each
/// made on first use.
struct PlanCache<Plan> {
    private var plans: [PlanKey: Plan] = [:]

    /// The plan for `key`, made by `make` if there is none yet.
    mutating func plan(_ key: PlanKey, make: () -> Plan) -> Plan {
        if let p = plans[key] { return p }
        let p = make()
        plans[key] = p
        return p
    }
}

/// A primitive descriptor and its primitive, created once and run many times.
final class DNNLPrimitive {
    let descriptor: dnnl_primitive_desc_t
    let primitive: dnnl_primitive_t
    let kind: String

    /// Creates the primitive for `opDesc` (a dnnl_*_desc_t), with optional
    /// attributes and forward hint (backward passes need the forward's).
    /// oneDNN fixes many primitives' thread count here (from OpenMP's count
    /// on the creating thread), so the count is applied first.
    init<D>(_ kind: String, _ opDesc: inout D, attributes: dnnl_primitive_attr_t? = nil, hint: DNNLPrimitive? = nil) {
        self.kind = kind
        ComputeKernels.applyThreadCount()
        var pd: dnnl_primitive_desc_t?
        withUnsafeMutablePointer(to: &opDesc) { p in
            dnnlCheck(dnnl_primitive_desc_create(&pd, UnsafeRawPointer(p), attributes, DNNLRuntime.shared.engine,
                                                 hint?.descriptor), "primitive_desc_create (\(kind))")
        }
        descriptor = pd!
        var prim: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&prim, descriptor), "primitive_create (\(kind))")
        primitive = prim!
    }

    /// A reorder from layout `source` to layout `destination`.
    convenience init(reorderFrom source: dnnl_memory_desc_t, to destination: dnnl_memory_desc_t) {
        ComputeKernels.applyThreadCount()
        var (s, d) = (source, destination)
        var pd: dnnl_primitive_desc_t?
        let engine = DNNLRuntime.shared.engine
        dnnlCheck(dnnl_reorder_primitive_desc_create(&pd, &s, engine, &d, engine, nil), "reorder_primitive_desc_create")
        self.init(kind: "reorder", descriptor: pd!)
    }

    private init(kind: String, descriptor: dnnl_primitive_desc_t) {
        self.kind = kind
        self.descriptor = descriptor
        var prim: dnnl_primitive_t?
        dnnlCheck(dnnl_primitive_create(&prim, descriptor), "primitive_create (\(kind))")
        primitive = prim!
    }

    deinit {
        dnnl_primitive_destroy(primitive)
        dnnl_primitive_desc_destroy(descriptor)
    }

    /// The layout the primitive chose for argument `what` (e.g. dnnl_query_weights_md).
    func desc(_ what: dnnl_query_t, index: Int32 = 0) -> dnnl_memory_desc_t {
        dnnl_primitive_desc_query_md(descriptor, what, index).pointee
    }

    /// The implementation oneDNN picked, e.g. "brg:avx512_core" or "jit:avx2".
    var implementation: String {
        var s: UnsafePointer<CChar>?
        dnnlCheck(dnnl_primitive_desc_query(descriptor, dnnl_query_impl_info_str, 0, &s), "query impl_info_str")
        return s.map { String(cString: $0) } ?? "?"
    }

    /// Runs the primitive on (argument id, memory) pairs and waits for it.
    func execute(_ args: [(Int32, DNNLMemory)]) {
        ComputeKernels.applyThreadCount()
        var list = args.map { dnnl_exec_arg_t(arg: $0.0, memory: $0.1.memory) }
        let stream = DNNLRuntime.shared.stream
        dnnlCheck(dnnl_primitive_execute(primitive, stream, Int32(list.count), &list), "execute (\(kind))")
        dnnlCheck(dnnl_stream_wait(stream), "stream_wait (\(kind))")
    }
}

/// Primitive attributes with one post-op, max(x, 0), on the destination.
/// The caller destroys them (dnnl_primitive_attr_destroy).
func reluPostOp() -> dnnl_primitive_attr_t {
    var attributes: dnnl_primitive_attr_t?
    dnnlCheck(dnnl_primitive_attr_create(&attributes), "primitive_attr_create")
    var ops: dnnl_post_ops_t?
    dnnlCheck(dnnl_post_ops_create(&ops), "post_ops_create")
    dnnlCheck(dnnl_post_ops_append_eltwise(ops, 1, dnnl_eltwise_relu, 0, 0), "post_ops_append_eltwise")
    dnnlCheck(dnnl_primitive_attr_set_post_ops(attributes, ops), "primitive_attr_set_post_ops")
    dnnl_post_ops_destroy(ops)
    return attributes!
}
