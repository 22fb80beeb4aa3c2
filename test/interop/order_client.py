"""An independent gRPC client (Debian's python3-grpcio) for the generated order service.

Usage: order_client.py <stubs-dir> <host:port> <name-prefix>
Prints one JSON object per line: the answers of a CRUD sequence, then the health checks, then
what Health/Watch sees (SERVING, and NOT_SERVING once the server is told to shut down).
"""
import json
import sys

sys.path.insert(0, sys.argv[1])

import grpc  # noqa: E402
import order_pb2  # noqa: E402
import order_pb2_grpc  # noqa: E402
from health.v1 import health_pb2, health_pb2_grpc  # noqa: E402

address, prefix = sys.argv[2], sys.argv[3]


def emit(obj):
    print(json.dumps(obj), flush=True)


def call(fn, request):
    try:
        return "OK", fn(request, timeout=5, metadata=[("x-request-id", prefix + "req")])
    except grpc.RpcError as e:
        return e.code().name, None


def order_view(o):
    return {"name": o.name, "description": o.description, "status": o.status, "version": o.version}


with grpc.insecure_channel(address) as channel:
    stub = order_pb2_grpc.OrderServiceStub(channel)
    answers = []
    code, created = call(stub.CreateOrder, order_pb2.CreateOrderRequest(name=prefix + "a", description="d"))
    answers.append(["create", code, order_view(created.order)])
    oid = created.order.id
    answers.append(["create-dup", call(stub.CreateOrder, order_pb2.CreateOrderRequest(name=prefix + "a"))[0]])
    answers.append(["create-empty", call(stub.CreateOrder, order_pb2.CreateOrderRequest(name=""))[0]])
    code, got = call(stub.GetOrder, order_pb2.GetOrderRequest(id=oid))
    answers.append(["get", code, order_view(got.order)])
    answers.append(["get-missing", call(stub.GetOrder, order_pb2.GetOrderRequest(id="missing"))[0]])
    answers.append(["list-too-big", call(stub.ListOrders, order_pb2.ListOrdersRequest(page_size=1000))[0]])
    code, updated = call(stub.UpdateOrder, order_pb2.UpdateOrderRequest(id=oid, description="e", version=1))
    answers.append(["update", code, order_view(updated.order)])
    answers.append(["update-stale", call(stub.UpdateOrder, order_pb2.UpdateOrderRequest(id=oid, name="z", version=1))[0]])
    code, _ = call(stub.DeleteOrder, order_pb2.DeleteOrderRequest(id=oid))
    answers.append(["delete", code])
    answers.append(["delete-again", call(stub.DeleteOrder, order_pb2.DeleteOrderRequest(id=oid))[0]])
    emit({"answers": answers})

    health = health_pb2_grpc.HealthStub(channel)
    checks = {}
    for service in ["", "shop.order.v1.OrderService"]:
        r = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
        checks[service or "(server)"] = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
    try:
        health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
        checks["no.such.Service"] = "OK"
    except grpc.RpcError as e:
        checks["no.such.Service"] = e.code().name
    emit({"checks": checks})

    seen = []
    try:
        for r in health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=20):
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(r.status)
            seen.append(status)
            emit({"watch": status})
    except grpc.RpcError as e:
        seen.append(e.code().name)
    emit({"watched": seen})
