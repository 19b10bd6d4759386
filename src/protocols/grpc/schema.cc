#include "protocols/grpc/schema.h"

#include <fmt/format.h>
#include <google/protobuf/compiler/importer.h>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>
#include <google/protobuf/descriptor_database.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/type_resolver.h>
#include <google/protobuf/util/type_resolver_util.h>

#include <filesystem>

#include "core/error.h"

namespace spiker::grpc {
namespace pb = google::protobuf;

namespace {

constexpr const char* kTypeUrlPrefix = "type.googleapis.com";

// protoc's messages, gathered for one error.
class Collector final : public pb::compiler::MultiFileErrorCollector,
                        public pb::DescriptorPool::ErrorCollector {
 public:
  void AddError(const std::string& file, int line, int column,
                const std::string& message) override {
    text += fmt::format("\n  {}:{}:{}: {}", file, line + 1, column + 1, message);
  }
  void AddError(const std::string& file, const std::string& element, const pb::Message*,
                ErrorLocation, const std::string& message) override {
    text += fmt::format("\n  {} ({}): {}", file, element, message);
  }
  std::string text;
};

}  // namespace

struct Schema::Impl {
  // From .proto files: the source tree and importer own the pool.
  std::unique_ptr<pb::compiler::DiskSourceTree> tree;
  std::unique_ptr<Collector> collector;
  std::unique_ptr<pb::compiler::Importer> importer;
  // From reflection: descriptors, with the library's well-known types behind them.
  std::unique_ptr<pb::SimpleDescriptorDatabase> given;
  std::unique_ptr<pb::DescriptorPoolDatabase> builtin;
  std::unique_ptr<pb::MergedDescriptorDatabase> merged;
  std::unique_ptr<pb::DescriptorPool> own_pool;

  const pb::DescriptorPool* pool = nullptr;
  std::vector<std::string> services;  // full names, for messages
  std::unique_ptr<pb::util::TypeResolver> resolver;
};

Schema::Schema(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->resolver.reset(pb::util::NewTypeResolverForDescriptorPool(kTypeUrlPrefix, impl_->pool));
}

Schema::~Schema() = default;

std::shared_ptr<Schema> Schema::from_files(const std::vector<std::string>& files,
                                           const std::vector<std::string>& import_paths,
                                           const std::string& where) {
  namespace fs = std::filesystem;
  auto impl = std::make_unique<Impl>();
  impl->tree = std::make_unique<pb::compiler::DiskSourceTree>();
  for (const std::string& dir : import_paths) {
    if (!fs::is_directory(dir)) {
      throw SetupError(fmt::format("{}: --import-path {} is not a directory", where, dir));
    }
    impl->tree->MapPath("", dir);
  }
  std::vector<std::string> virtual_names;
  for (const std::string& file : files) {
    if (!fs::is_regular_file(file)) {
      throw SetupError(fmt::format("{}: the .proto file {} does not exist", where, file));
    }
    std::string name, shadow;
    if (impl->tree->DiskFileToVirtualFile(file, &name, &shadow) !=
        pb::compiler::DiskSourceTree::SUCCESS) {
      // Not under an import path: its own folder is one.
      fs::path p(file);
      std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
      impl->tree->MapPath("", dir);
      name = p.filename().string();
    }
    virtual_names.push_back(name);
  }
  impl->tree->MapPath("", "/usr/include");  // google/protobuf/*.proto (libprotobuf-dev)
  impl->collector = std::make_unique<Collector>();
  impl->importer =
      std::make_unique<pb::compiler::Importer>(impl->tree.get(), impl->collector.get());
  for (const std::string& name : virtual_names) {
    const pb::FileDescriptor* fd = impl->importer->Import(name);
    if (fd == nullptr) {
      throw SetupError(
          fmt::format("{}: {} does not compile:{}", where, name, impl->collector->text));
    }
    for (int i = 0; i < fd->service_count(); ++i) {
      impl->services.push_back(fd->service(i)->full_name());
    }
  }
  impl->pool = impl->importer->pool();
  return std::shared_ptr<Schema>(new Schema(std::move(impl)));
}

std::shared_ptr<Schema> Schema::from_descriptors(const std::vector<std::string>& files,
                                                 const std::string& where) {
  auto impl = std::make_unique<Impl>();
  impl->given = std::make_unique<pb::SimpleDescriptorDatabase>();
  std::vector<std::string> names;
  for (const std::string& bytes : files) {
    pb::FileDescriptorProto fdp;
    if (!fdp.ParseFromString(bytes)) {
      throw SetupError(fmt::format("{}: the server sent a descriptor that does not parse", where));
    }
    names.push_back(fdp.name());
    for (const auto& svc : fdp.service()) {
      impl->services.push_back(fdp.package().empty() ? svc.name()
                                                     : fdp.package() + "." + svc.name());
    }
    impl->given->Add(fdp);  // a file sent twice is kept once
  }
  impl->builtin =
      std::make_unique<pb::DescriptorPoolDatabase>(*pb::DescriptorPool::generated_pool());
  impl->merged =
      std::make_unique<pb::MergedDescriptorDatabase>(impl->given.get(), impl->builtin.get());
  impl->collector = std::make_unique<Collector>();
  impl->own_pool = std::make_unique<pb::DescriptorPool>(impl->merged.get(), impl->collector.get());
  for (const std::string& name : names) {
    if (impl->own_pool->FindFileByName(name) == nullptr) {
      throw SetupError(fmt::format("{}: the server's descriptor of {} does not build:{}", where,
                                   name, impl->collector->text));
    }
  }
  impl->pool = impl->own_pool.get();
  return std::shared_ptr<Schema>(new Schema(std::move(impl)));
}

Method Schema::method(std::string_view call, const std::string& where) const {
  std::string_view c = call;
  if (c.starts_with("/")) c.remove_prefix(1);
  size_t cut = c.rfind('/');
  if (cut == std::string_view::npos) cut = c.rfind('.');
  auto known = [&] {
    std::string list;
    for (const std::string& s : impl_->services) list += (list.empty() ? "" : ", ") + s;
    return list.empty() ? std::string("none") : list;
  };
  if (cut == std::string_view::npos || cut == 0 || cut + 1 == c.size()) {
    throw SetupError(fmt::format("{}: --call '{}' is package.Service/Method (services: {})", where,
                                 call, known()));
  }
  std::string service(c.substr(0, cut));
  std::string name(c.substr(cut + 1));
  const pb::ServiceDescriptor* sd = impl_->pool->FindServiceByName(service);
  if (sd == nullptr) {
    throw SetupError(fmt::format("{}: no service {} (services: {})", where, service, known()));
  }
  const pb::MethodDescriptor* md = sd->FindMethodByName(name);
  if (md == nullptr) {
    std::string methods;
    for (int i = 0; i < sd->method_count(); ++i) {
      methods += (methods.empty() ? "" : ", ") + sd->method(i)->name();
    }
    throw SetupError(
        fmt::format("{}: {} has no method {} (methods: {})", where, service, name, methods));
  }
  Method m;
  m.path = fmt::format("/{}/{}", sd->full_name(), md->name());
  m.input_type = md->input_type()->full_name();
  m.output_type = md->output_type()->full_name();
  m.client_streaming = md->client_streaming();
  m.server_streaming = md->server_streaming();
  return m;
}

bool Schema::encode(const std::string& type, std::string_view json, std::string* out,
                    std::string* error) const {
  out->clear();
  pb::util::JsonParseOptions options;
  auto status = pb::util::JsonToBinaryString(
      impl_->resolver.get(), fmt::format("{}/{}", kTypeUrlPrefix, type),
      pb::StringPiece(json.data(), json.size()), out, options);
  if (status.ok()) return true;
  *error = status.ToString();
  return false;
}

bool Schema::decode(const std::string& type, std::string_view binary, std::string* out,
                    std::string* error) const {
  out->clear();
  pb::util::JsonPrintOptions options;
  auto status = pb::util::BinaryToJsonString(impl_->resolver.get(),
                                             fmt::format("{}/{}", kTypeUrlPrefix, type),
                                             std::string(binary), out, options);
  if (status.ok()) return true;
  *error = status.ToString();
  return false;
}

}  // namespace spiker::grpc
