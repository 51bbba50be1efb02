"""The same call as `bpstudio-op get ID`, made with Alibaba Cloud's official Python SDK
(alibabacloud-bpstudio20210931 on tea-openapi, its default V3 signature), as a user's script
would: build the client, call GetExecuteOperationResult once, print the status.

    python bench/sdk_get.py 127.0.0.1:PORT OPERATION_ID   # credentials from ALIBABA_CLOUD_ACCESS_KEY_*
"""
import os
import sys

from alibabacloud_bpstudio20210931 import models
from alibabacloud_bpstudio20210931.client import Client
from alibabacloud_tea_openapi import models as open_api_models


def main() -> int:
    host_port, operation_id = sys.argv[1], sys.argv[2]
    config = open_api_models.Config(
        access_key_id=os.environ["ALIBABA_CLOUD_ACCESS_KEY_ID"],
        access_key_secret=os.environ["ALIBABA_CLOUD_ACCESS_KEY_SECRET"],
        endpoint=host_port,
        protocol="http",
        region_id="cn-hangzhou",
    )
    client = Client(config)
    request = models.GetExecuteOperationResultRequest(operation_id=operation_id)
    response = client.get_execute_operation_result(request)
    data = response.body.data
    print(f"{operation_id} {data.status if data else 'EXPIRED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
