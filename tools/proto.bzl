"""Protobuf/gRPC C++ code generation with the system protoc (no downloads).

The import root is proto/, so files import each other as
"argonaut/<area>/v1/<file>.proto" and C++ includes the generated headers as
"argonaut/<area>/v1/<file>.pb.h".
"""

def argonaut_proto(name, srcs, deps = [], grpc = False):
    """Generates <name> (cc_library) from .proto files under proto/.

    Args:
      name: name of the cc_library.
      srcs: .proto files, relative to the proto/ package.
      deps: other argonaut_proto targets whose files these import.
      grpc: whether to generate gRPC service stubs too.
    """
    outs = []
    hdrs = []
    for src in srcs:
        base = src[:-len(".proto")]
        outs += [base + ".pb.h", base + ".pb.cc"]
        hdrs.append(base + ".pb.h")
        if grpc:
            outs += [base + ".grpc.pb.h", base + ".grpc.pb.cc"]
            hdrs.append(base + ".grpc.pb.h")
    dep_files = [d + "_files" for d in deps]
    native.filegroup(
        name = name + "_files",
        srcs = srcs + dep_files,
    )
    grpc_flags = ""
    if grpc:
        grpc_flags = "--grpc_out=$(GENDIR)/proto --plugin=protoc-gen-grpc=/usr/bin/grpc_cpp_plugin"
    native.genrule(
        name = name + "_gen",
        srcs = srcs + dep_files,
        outs = outs,
        cmd = "/usr/bin/protoc -Iproto --cpp_out=$(GENDIR)/proto %s %s" % (
            grpc_flags,
            " ".join(["proto/" + s for s in srcs]),
        ),
    )
    native.cc_library(
        name = name,
        srcs = [o for o in outs if o.endswith(".cc")],
        hdrs = hdrs,
        includes = ["."],
        deps = deps + ["@system//:protobuf"] + (["@system//:grpc"] if grpc else []),
        visibility = ["//visibility:public"],
    )
